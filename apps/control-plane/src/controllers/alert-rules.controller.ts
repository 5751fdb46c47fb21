import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { RuleConfiguration } from '@rf/alerts';
import type { AlertRuleSettings } from '@rf/events';
import type { CommandContext } from '../core/command-context';
import { PutAlertRulesDto } from '../dtos/alert.dtos';
import { Roles } from '../middleware/auth.decorators';
import { RequestContext } from '../middleware/request-context';
import { AlertsService } from '../services/alerts.service';

/** The alert rules' settings: global, with per-host overrides (docs/alerts.md, "Settings"). Admin only. */
@ApiTags('alerts')
@Controller('api/alert-rules')
export class AlertRulesController {
  constructor(private readonly alerts: AlertsService) {}

  @Get()
  @Roles('admin')
  @ApiOkResponse({ description: '{rules, host_overrides}; what is not set uses the defaults.' })
  get(): RuleConfiguration {
    return this.alerts.ruleConfiguration();
  }

  @Put()
  @Roles('admin')
  @ApiOkResponse({ description: 'The configuration as stored; it replaces the previous one whole.' })
  put(@Body() dto: PutAlertRulesDto, @RequestContext() ctx: CommandContext): Promise<RuleConfiguration> {
    // The catalog checks every rule and host key when the event is appended and names the bad field.
    return this.alerts.setRules(
      {
        rules: dto.rules as AlertRuleSettings,
        ...(dto.host_overrides !== undefined
          ? { host_overrides: dto.host_overrides as Readonly<Record<string, AlertRuleSettings>> }
          : {}),
      },
      ctx,
    );
  }
}
