import { Inject, Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Roles } from '../middleware/auth.decorators';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { AppError } from '../core/app-error';
import { ReadModelsReader } from '../repositories/read-models.reader';
import { ParseIdPipe } from '../middleware/request-context';
import { mapHostResponse, mapSchedules, mapSnapshot, type HostResponse } from '../dtos/response-mappers';

/** Hosts as the read models see them, with the gateway's live presence on top. */
@ApiTags('hosts')
@Controller('api/hosts')
export class HostsQueriesController {
  constructor(
    private readonly reader: ReadModelsReader,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
  ) {}

  @Get()
  @Roles('viewer')
  async list(): Promise<{ hosts: HostResponse[] }> {
    const models = await this.reader.fresh();
    return { hosts: models.hosts.list().map((h) => mapHostResponse(h, this.live(h.id))) };
  }

  @Get(':id')
  @Roles('viewer')
  async get(@Param('id', ParseIdPipe) id: string): Promise<HostResponse> {
    const models = await this.reader.fresh();
    const host = models.hosts.get(id);
    if (!host) throw new AppError('not_found', `host ${id} does not exist`, { field: 'id' });
    return mapHostResponse(host, this.live(id));
  }

  @Get(':id/snapshots')
  @Roles('viewer')
  async snapshots(@Param('id', ParseIdPipe) id: string) {
    const models = await this.reader.fresh();
    if (!models.hosts.get(id)) throw new AppError('not_found', `host ${id} does not exist`, { field: 'id' });
    return { host_id: id, snapshots: models.snapshots.forHost(id).map(mapSnapshot) };
  }

  @Get(':id/schedules')
  @Roles('viewer')
  async schedules(@Param('id', ParseIdPipe) id: string) {
    const models = await this.reader.fresh();
    if (!models.hosts.get(id)) throw new AppError('not_found', `host ${id} does not exist`, { field: 'id' });
    return mapSchedules(models.schedules.forHost(id));
  }

  private live(hostId: string) {
    return { online: this.sessions.isOnline(hostId), lastSeen: this.sessions.lastSeen(hostId) };
  }
}
