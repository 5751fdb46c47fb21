import { Inject, Injectable, Logger } from '@nestjs/common';
import { hostStream, makeEnvelope, type Envelope } from '@rf/events';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { AppConfig } from '../core/app-config';
import { AppError } from '../core/app-error';
import type { CommandContext } from '../core/command-context';
import { requireHost } from '../domain/require-host';
import { AGENT_FILE_NAME, type AgentBundle } from '../repositories/agent-delivery.repository';
import { AgentDeliveryService } from './agent-delivery.service';
import { FleetEventWriter } from './fleet-event.writer';
import { FleetStateService } from './fleet-state.service';
import { FleetPresence } from './fleet-presence.service';

/**
 * Offers the served agent file to agents (`agent.update_available`): on
 * every hello of an older agent, and when an operator presses Update. The
 * agent decides whether to install it (`auto_update`, see apps/agent/README.md).
 */
@Injectable()
export class AgentUpdatesService {
  private readonly logger = new Logger(AgentUpdatesService.name);

  constructor(
    private readonly delivery: AgentDeliveryService,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
    private readonly config: AppConfig,
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
    private readonly presence: FleetPresence,
  ) {}

  /** After a hello: an agent older than the served file gets the offer. */
  offerOnHello(hostId: string, agentVersion: string): void {
    const bundle = this.delivery.current;
    if (!bundle || !this.delivery.isOutdated(agentVersion)) return;
    if (this.sessions.send(hostId, this.offerEnvelope(bundle)))
      this.logger.log(
        { host_id: hostId, agent_version: agentVersion, offered: bundle.version },
        'offered an agent update',
      );
  }

  /**
   * The operator's Update button: recorded in the host's log; the node holding
   * the agent's socket sends the offer when it applies the event
   * (`OrderRoutingService`), whichever node the operator used.
   */
  async request(hostId: string, ctx: CommandContext): Promise<{ version: string; sha256: string }> {
    const bundle = this.delivery.requireBundle();
    await this.fleet.syncHost(hostId);
    requireHost(this.fleet.state, hostId);
    if (!this.presence.isOnline(hostId))
      throw new AppError(
        'conflict',
        `host ${hostId} is offline; its agent is offered the update when it connects`,
      );
    await this.writer.append(
      hostStream(hostId),
      [
        {
          type: 'AgentUpdateRequested',
          data: {
            host_id: hostId,
            version: bundle.version,
            sha256: bundle.sha256,
            requested_at: new Date().toISOString(),
          },
        },
      ],
      ctx,
    );
    return { version: bundle.version, sha256: bundle.sha256 };
  }

  /** Sends the served agent file's offer to the host if this node holds its socket. */
  offer(hostId: string): void {
    const bundle = this.delivery.current;
    if (bundle) this.sessions.send(hostId, this.offerEnvelope(bundle));
  }

  private offerEnvelope(bundle: AgentBundle): Envelope<'agent.update_available'> {
    return makeEnvelope('agent.update_available', {
      version: bundle.version,
      sha256: bundle.sha256,
      url: `${this.config.publicUrl}/agent/${AGENT_FILE_NAME}`,
    });
  }
}
