import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Put } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { CommandContext } from '../core/command-context';
import { ChannelDto } from '../dtos/alert.dtos';
import type { NotificationChannelResponse } from '../dtos/response-mappers';
import { Roles } from '../middleware/auth.decorators';
import { ParseIdPipe, RequestContext } from '../middleware/request-context';
import { AppError } from '../core/app-error';
import { AlertsService } from '../services/alerts.service';
import { AlertQueriesService } from '../services/alert-queries.service';

/** Notification channels (docs/alerts.md, "Channels"). Admin only; secrets are never answered. */
@ApiTags('alerts')
@Controller('api/notification-channels')
@Roles('admin')
export class NotificationChannelsController {
  constructor(
    private readonly queries: AlertQueriesService,
    private readonly alerts: AlertsService,
  ) {}

  @Get()
  @ApiOkResponse({ description: 'Every channel with its latest deliveries; secrets only as {set}.' })
  list(): Promise<{ channels: NotificationChannelResponse[] }> {
    return this.queries.channels();
  }

  @Get(':id')
  @ApiOkResponse({ description: 'One channel with its latest deliveries; secrets only as {set}.' })
  get(@Param('id', ParseIdPipe) id: string): Promise<NotificationChannelResponse> {
    return this.queries.channel(id);
  }

  @Post()
  @ApiCreatedResponse({ description: '{id} of the new channel.' })
  create(@Body() dto: ChannelDto, @RequestContext() ctx: CommandContext): Promise<{ id: string }> {
    return this.alerts.configureChannel(dto, ctx);
  }

  @Put(':id')
  @ApiOkResponse({ description: 'The channel as stored; secrets left out keep their value.' })
  async update(
    @Param('id', ParseIdPipe) id: string,
    @Body() dto: ChannelDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<NotificationChannelResponse> {
    await this.alerts.configureChannel(dto, ctx, id);
    return this.queries.channel(id);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(@Param('id', ParseIdPipe) id: string, @RequestContext() ctx: CommandContext): Promise<void> {
    await this.alerts.removeChannel(id, ctx);
  }

  @Post(':id/test')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ description: '{delivered: true}; 502 {error} when the receiver did not accept it.' })
  async test(@Param('id', ParseIdPipe) id: string): Promise<{ delivered: true }> {
    const result = await this.alerts.sendTest(id);
    if (!result.delivered) throw new AppError('delivery_failed', result.error);
    return result;
  }
}
