import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { CommandContext } from '../core/command-context';
import { PutAlertRulesDto } from '../dtos/alert.dtos';
import { Roles } from '../middleware/auth.decorators';
import { RequestContext } from '../middleware/request-context';
import { AlertCommandsService, type AlertRulesConfiguration } from '../services/alert-commands.service';

/** The alert rules' settings: global, with per-host overrides (docs/alerts.md, "Settings"). Admin only. */
@ApiTags('alerts')
@Controller('api/alert-rules')
export class AlertRulesController {
  constructor(private readonly commands: AlertCommandsService) {}

  @Get()
  @Roles('admin')
  @ApiOkResponse({ description: '{rules, host_overrides}; what is not set uses the defaults.' })
  get(): Promise<AlertRulesConfiguration> {
    return this.commands.rules();
  }

  @Put()
  @Roles('admin')
  @ApiOkResponse({ description: 'The configuration as stored; it replaces the previous one whole.' })
  put(
    @Body() dto: PutAlertRulesDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<AlertRulesConfiguration> {
    return this.commands.setRules(dto, ctx);
  }
}
