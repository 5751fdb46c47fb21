import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { CommandContext } from '../core/command-context';
import { AcknowledgeAlertDto, ListAlertsQueryDto } from '../dtos/alert.dtos';
import type { AlertResponse } from '../dtos/response-mappers';
import { Roles } from '../middleware/auth.decorators';
import { ParseIdPipe, RequestContext } from '../middleware/request-context';
import { AlertsService } from '../services/alerts.service';
import { AlertQueriesService } from '../services/alert-queries.service';

/** Alerts (docs/alerts.md): viewers see them, operators acknowledge them. */
@ApiTags('alerts')
@Controller('api/alerts')
export class AlertsController {
  constructor(
    private readonly queries: AlertQueriesService,
    private readonly commands: AlertsService,
  ) {}

  @Get()
  @Roles('viewer')
  @ApiOkResponse({ description: 'Open alerts first (acknowledged ones count as open), then the history.' })
  list(@Query() q: ListAlertsQueryDto): Promise<{ alerts: AlertResponse[] }> {
    return this.queries.alerts({
      state: q.state ?? 'open',
      ...(q.host !== undefined ? { hostId: q.host } : {}),
      ...(q.rule !== undefined ? { rule: q.rule } : {}),
    });
  }

  @Post(':id/ack')
  @Roles('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({
    description: 'The alert, acknowledged: its reminders stop. Acknowledging twice changes nothing.',
  })
  async acknowledge(
    @Param('id', ParseIdPipe) id: string,
    @Body() dto: AcknowledgeAlertDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<AlertResponse> {
    await this.commands.acknowledge(id, ctx, dto.note);
    return this.queries.alert(id);
  }
}
