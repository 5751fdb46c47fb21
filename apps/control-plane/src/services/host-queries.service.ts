import { Inject, Injectable } from '@nestjs/common';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { AppError } from '../core/app-error';
import {
  mapHostResponse,
  mapSchedules,
  mapSnapshot,
  type HostLiveState,
  type HostResponse,
} from '../dtos/response-mappers';
import type { ReadModels } from '../repositories/read-models.port';
import { ReadModelsReader } from '../repositories/read-models.reader';
import { FleetPresence } from './fleet-presence.service';

/** Hosts as the read models see them, with the agents' live presence (on any node) on top. */
@Injectable()
export class HostQueriesService {
  constructor(
    private readonly reader: ReadModelsReader,
    @Inject(AGENT_DISPATCH) private readonly agents: AgentDispatch,
    private readonly presence: FleetPresence,
  ) {}

  async list(): Promise<{ hosts: HostResponse[] }> {
    const models = await this.reader.fresh();
    return { hosts: models.hosts.list().map((h) => mapHostResponse(h, this.live(h.id))) };
  }

  async get(id: string): Promise<HostResponse> {
    const models = await this.reader.fresh();
    return mapHostResponse(requireHostView(models, id), this.live(id));
  }

  async snapshots(id: string) {
    const models = await this.reader.fresh();
    requireHostView(models, id);
    return { host_id: id, snapshots: models.snapshots.forHost(id).map(mapSnapshot) };
  }

  async schedules(id: string) {
    const models = await this.reader.fresh();
    requireHostView(models, id);
    return mapSchedules(models.schedules.forHost(id));
  }

  private live(hostId: string): HostLiveState {
    const nodeId = this.presence.nodeOf(hostId);
    return { online: nodeId !== null, lastSeen: this.agents.lastSeen(hostId), nodeId };
  }
}

function requireHostView(models: ReadModels, id: string) {
  const host = models.hosts.get(id);
  if (!host) throw new AppError('not_found', `host ${id} does not exist`, { field: 'id' });
  return host;
}
