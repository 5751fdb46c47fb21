import { Inject, Injectable } from '@nestjs/common';
import { hostStream } from '@rf/events';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { FleetStateService } from './fleet-state.service';
import { FleetEventWriter } from './fleet-event.writer';
import { type CommandContext } from '../core/command-context';
import { requireHost } from '../domain/require-host';
import { KeyedMutex } from '../core/keyed-mutex';

/** Host lifecycle orders: revocation closes the agent's socket at once. */
@Injectable()
export class HostCommandsService {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
  ) {}

  /** Appends HostRevoked (once; repeating is a no-op) and closes the host's socket. */
  async revoke(hostId: string, ctx: CommandContext, reason?: string): Promise<void> {
    await this.fleet.syncHost(hostId);
    await this.locks.run(hostId, async () => {
      const host = requireHost(this.fleet.state, hostId, { allowRevoked: true });
      if (host.revoked) return;
      await this.writer.append(
        hostStream(hostId),
        [
          {
            type: 'HostRevoked',
            data: { host_id: hostId, ...(reason ? { reason } : {}), revoked_at: new Date().toISOString() },
          },
        ],
        ctx,
        { expectedRevision: host.revision },
      );
    });
    await this.sessions.closeHost(hostId, 'revoked', 'host revoked');
  }
}
