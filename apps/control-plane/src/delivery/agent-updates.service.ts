import { Injectable, Logger } from '@nestjs/common';
import { hostStream, makeEnvelope, type Envelope } from '@rf/events';
import { AppError } from '../api/app-error';
import { FleetEventWriter, type CommandContext } from '../commands/fleet-event.writer';
import { FleetStateService } from '../commands/fleet-state.service';
import { requireHost } from '../commands/hosts.guard';
import { AppConfig } from '../config/app-config';
import { AgentSessions } from '../gateway/agent-sessions';
import { AGENT_FILE_NAME, AgentBundleService, type AgentBundle } from './agent-bundle.service';

/**
 * Offers the served agent file to agents (`agent.update_available`): on
 * every hello of an older agent, and when an operator presses Update. The
 * agent decides whether to install it (`auto_update`, see apps/agent/README.md).
 */
@Injectable()
export class AgentUpdatesService {
  private readonly logger = new Logger(AgentUpdatesService.name);

  constructor(
    private readonly bundles: AgentBundleService,
    private readonly sessions: AgentSessions,
    private readonly config: AppConfig,
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
  ) {}

  /** After a hello: an agent older than the served file gets the offer. */
  offerOnHello(hostId: string, agentVersion: string): void {
    const bundle = this.bundles.current;
    if (!bundle || !this.bundles.isOutdated(agentVersion)) return;
    if (this.sessions.send(hostId, this.offer(bundle)))
      this.logger.log(
        { host_id: hostId, agent_version: agentVersion, offered: bundle.version },
        'offered an agent update',
      );
  }

  /** The operator's Update button: recorded in the host's log, then sent to the connected agent. */
  async request(hostId: string, ctx: CommandContext): Promise<{ version: string; sha256: string }> {
    const bundle = this.bundles.require();
    await this.fleet.syncHost(hostId);
    requireHost(this.fleet.state, hostId);
    if (!this.sessions.isOnline(hostId))
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
    if (!this.sessions.send(hostId, this.offer(bundle)))
      throw new AppError(
        'conflict',
        `host ${hostId} went offline; its agent is offered the update when it connects`,
      );
    return { version: bundle.version, sha256: bundle.sha256 };
  }

  private offer(bundle: AgentBundle): Envelope<'agent.update_available'> {
    return makeEnvelope('agent.update_available', {
      version: bundle.version,
      sha256: bundle.sha256,
      url: `${this.config.publicUrl}/agent/${AGENT_FILE_NAME}`,
    });
  }
}
