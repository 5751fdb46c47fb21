import { Body, Controller, Delete, HttpCode, HttpStatus, Param, Put } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Roles } from '../middleware/auth.decorators';
import type { CommandContext } from '../core/command-context';
import { HostCommandsService } from '../services/hosts.service';
import { RepositoryCommandsService } from '../services/repository.service';
import { ScheduleCommandsService } from '../services/schedules.service';
import { ConfigureRepositoryDto, PutSchedulesDto } from '../dtos/host.dtos';
import { ParseIdPipe, RequestContext } from '../middleware/request-context';
import type { ConfiguredRepositoryResponse } from '../dtos/response-mappers';

/** Operator orders about a host: revoke, repository, schedules. */
@ApiTags('hosts')
@Controller('api/hosts')
export class HostsCommandsController {
  constructor(
    private readonly hosts: HostCommandsService,
    private readonly repository: RepositoryCommandsService,
    private readonly schedules: ScheduleCommandsService,
  ) {}

  @Delete(':id')
  @Roles('admin')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'The host is revoked and its agent disconnected.' })
  revoke(@Param('id', ParseIdPipe) hostId: string, @RequestContext() ctx: CommandContext): Promise<void> {
    return this.hosts.revoke(hostId, ctx);
  }

  @Put(':id/repository')
  @Roles('operator')
  @ApiOkResponse({
    description: 'The repository as stored: URL without credentials, and whether a password is set.',
  })
  configureRepository(
    @Param('id', ParseIdPipe) hostId: string,
    @Body() dto: ConfigureRepositoryDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<ConfiguredRepositoryResponse> {
    return this.repository.configure(hostId, dto, ctx);
  }

  @Put(':id/schedules')
  @Roles('operator')
  @ApiOkResponse({ description: 'The new desired version; the agent acknowledges it with schedule.ack.' })
  async putSchedules(
    @Param('id', ParseIdPipe) hostId: string,
    @Body() dto: PutSchedulesDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<{ version: number }> {
    return { version: await this.schedules.setSchedules(hostId, dto.schedules, ctx) };
  }
}
