import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { hostStream, jobStream } from '@rf/events';
import { isEventStoreError } from '@rf/event-store';
import { AppConfig } from '../core/app-config';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { FleetStateService } from './fleet-state.service';
import { FleetEventWriter } from './fleet-event.writer';
import { systemContext } from '../core/command-context';
import { NodeLeases } from './node-leases.service';

/**
 * Declares a dispatched/running job lost when its agent has been away longer
 * than `jobLostGraceS`. The "away since" time comes from the log
 * (AgentDisconnected), so the timer survives control-plane restarts.
 *
 * With several nodes on one log (docs/architecture.md, "Several nodes") a node
 * judges only the agents whose last connection was on itself or on a node
 * whose lease has lapsed: hosts the log still shows connected through this
 * node after a crash get an AgentDisconnected at boot; hosts shown connected
 * through a node whose lease lapsed get one dated at the lease's expiry, on
 * any sweep. A host connected through a live node is that node's business.
 */
@Injectable()
export class JobLostWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobLostWatcher.name);
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
    private readonly config: AppConfig,
    private readonly leases: NodeLeases,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.closeOrphans(true);
    const every = Math.max(
      200,
      Math.min(5000, (this.config.jobLostGraceS * 1000) / 4, this.leases.leaseMs / 4),
    );
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Records AgentDisconnected for hosts the log shows connected through a node
   * that no longer holds their socket: this node after a crash (`atBoot` only:
   * a running node registers its socket just after recording the hello), a
   * node the log names without a lease, or one whose lease lapsed.
   */
  private async closeOrphans(atBoot: boolean, now = Date.now()): Promise<void> {
    const hosts = [...this.fleet.state.hosts.values()].filter(
      (h) => h.connectedInLog && !this.sessions.isOnline(h.hostId),
    );
    await this.leases.refresh(hosts.flatMap((h) => (h.nodeId === null ? [] : [h.nodeId])));
    for (const host of hosts) {
      const own = host.nodeId === this.leases.nodeId;
      if (own ? !atBoot : !this.leases.lapsed(host.nodeId, now)) continue;
      const expired = host.nodeId === null || own ? null : this.leases.expiredAt(host.nodeId);
      const at = new Date(expired !== null && expired < now ? expired : now).toISOString();
      try {
        await this.writer.append(
          hostStream(host.hostId),
          [
            {
              type: 'AgentDisconnected',
              data: {
                host_id: host.hostId,
                reason: own || host.nodeId === null ? 'server_shutdown' : 'node_lost',
                disconnected_at: at,
                node_id: this.leases.nodeId,
              },
            },
          ],
          systemContext(),
          { expectedRevision: host.revision },
        );
        if (!own)
          this.logger.warn(
            { host_id: host.hostId, node_id: host.nodeId },
            'agent of a lost node marked disconnected',
          );
      } catch (err) {
        // The agent connected again (here or on another node) meanwhile: nothing to record.
        if (!isEventStoreError(err, 'WrongExpectedVersion')) throw err;
      }
    }
  }

  async sweep(now = Date.now()): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    let lost = 0;
    try {
      await this.closeOrphans(false, now);
      const graceMs = this.config.jobLostGraceS * 1000;
      for (const job of this.fleet.state.activeJobs()) {
        if (this.sessions.isOnline(job.hostId)) continue;
        const host = this.fleet.state.hosts.get(job.hostId);
        const awaySince = host?.disconnectedAt ?? (host?.connectedInLog ? null : job.updatedAt);
        if (awaySince === null || now - awaySince < graceMs) continue;
        try {
          await this.writer.append(
            jobStream(job.jobId),
            [
              {
                type: 'JobLost',
                data: {
                  job_id: job.jobId,
                  host_id: job.hostId,
                  reason: `agent offline for more than ${this.config.jobLostGraceS} s while the job was ${job.status}`,
                  lost_at: new Date(now).toISOString(),
                },
              },
            ],
            systemContext(job.correlationId),
            { expectedRevision: job.revision },
          );
          lost++;
        } catch (err) {
          // The agent came back and reported in the meantime; the next sweep sees the new state.
          if (!isEventStoreError(err, 'WrongExpectedVersion')) throw err;
        }
      }
    } catch (err) {
      this.logger.error({ err }, 'job-lost sweep failed');
    } finally {
      this.sweeping = false;
    }
    return lost;
  }
}
