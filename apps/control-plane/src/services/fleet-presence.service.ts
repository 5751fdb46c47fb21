import { Inject, Injectable } from '@nestjs/common';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { FleetStateService } from './fleet-state.service';
import { NodeLeases } from './node-leases.service';

/**
 * Whether a host's agent is connected to any node (docs/architecture.md,
 * "Several nodes"): through this node's socket, or, as the log says, through
 * another node whose lease has not lapsed (as last read by the sweep).
 * Pages and the API show this; orders and dispatch use only this node's sockets.
 */
@Injectable()
export class FleetPresence {
  constructor(
    private readonly fleet: FleetStateService,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
    private readonly leases: NodeLeases,
  ) {}

  isOnline(hostId: string): boolean {
    return this.nodeOf(hostId) !== null;
  }

  /** The node holding the host's socket; null when the agent is offline everywhere. */
  nodeOf(hostId: string): string | null {
    if (this.sessions.isOnline(hostId)) return this.leases.nodeId;
    const host = this.fleet.state.hosts.get(hostId);
    if (!host?.connectedInLog || host.nodeId === null || host.nodeId === this.leases.nodeId) return null;
    return this.leases.lapsed(host.nodeId) ? null : host.nodeId;
  }
}
