import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { fromRecorded, isTerminal, legacyRepositoryId, makeEnvelope, type RecordedEvent } from '@rf/events';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { AgentUpdatesService } from './agent-updates.service';
import { commandRun } from './job-dispatch.service';
import { FleetStateService } from './fleet-state.service';
import { RepositoryCommandsService } from './repository.service';
import { ScheduleCommandsService } from './schedules.service';

/**
 * Orders given outside the dispatch loop reach the agent through whichever
 * node holds its socket (docs/architecture.md, "Several nodes"). No node
 * sends an order when it is given: every node follows the log (FleetState's
 * one consumer) and, for each order event it applies, sends to the agents
 * whose socket it holds, so the node the operator used does not matter.
 *
 * `command.run` included: the dispatch loop only records JobDispatched, so a
 * job dispatched by a node its agent just left still reaches it.
 *
 * Each order is idempotent for the agent: `schedule.set` and `config.update`
 * carry the whole desired state (the newest one, read when sent),
 * `command.cancel` names a job the agent cancels at most once, and an update
 * offer is a hint the agent checks itself. An event re-applied after a
 * restart finds no socket yet; what an agent missed it gets on its next hello.
 */
@Injectable()
export class OrderRoutingService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OrderRoutingService.name);
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly fleet: FleetStateService,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
    private readonly schedules: ScheduleCommandsService,
    private readonly repository: RepositoryCommandsService,
    private readonly updates: AgentUpdatesService,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.fleet.onApplied((events) => this.route(events));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** Sends what the batch orders to the agents connected here; each host's config at most once per batch. */
  route(events: readonly RecordedEvent[]): void {
    const config = new Set<string>();
    const schedules = new Set<string>();
    for (const recorded of events) {
      const event = fromRecorded(recorded);
      switch (event.type) {
        case 'SchedulesChanged':
          schedules.add(event.data.host_id);
          break;
        case 'JobDispatched': {
          const job = this.fleet.state.jobs.get(event.data.job_id);
          if (job && job.status === 'dispatched' && !job.accepted && !job.cancelRequested)
            this.sessions.send(job.hostId, commandRun(job, this.fleet.state));
          break;
        }
        case 'JobCancelRequested': {
          const job = this.fleet.state.jobs.get(event.data.job_id);
          if (job && !isTerminal(job.status) && job.status !== 'queued')
            this.sessions.send(job.hostId, makeEnvelope('command.cancel', { job_id: job.jobId }));
          break;
        }
        case 'RepositoryConfigured':
          config.add(event.data.host_id);
          this.attachedTo(legacyRepositoryId(event.data.host_id), config);
          break;
        case 'RepositoryAttached':
        case 'RepositoryDetached':
          config.add(event.data.host_id);
          break;
        case 'RepositoryChanged':
        case 'RepositorySecretsSet':
          this.attachedTo(event.data.repository_id, config);
          break;
        case 'RepositoryRemoved':
          // Who was attached is gone with it: every agent here gets its config again.
          for (const hostId of this.sessions.connectedHosts()) config.add(hostId);
          break;
        case 'AgentUpdateRequested':
          this.updates.offer(event.data.host_id);
          break;
        case 'HostRevoked':
          this.sessions
            .closeHost(event.data.host_id, 'revoked', 'host revoked')
            .catch((err: unknown) =>
              this.logger.error({ err, host_id: event.data.host_id }, 'could not close a revoked host'),
            );
          break;
        default:
          break;
      }
    }
    // Repository first, then schedules: the order an agent expects after a hello too.
    for (const hostId of config) if (this.sessions.isOnline(hostId)) this.repository.pushConfig(hostId);
    for (const hostId of schedules) if (this.sessions.isOnline(hostId)) this.schedules.pushSchedules(hostId);
  }

  private attachedTo(repositoryId: string, into: Set<string>): void {
    for (const hostId of this.fleet.state.repositories.repositories.get(repositoryId)?.host_ids ?? [])
      into.add(hostId);
  }
}
