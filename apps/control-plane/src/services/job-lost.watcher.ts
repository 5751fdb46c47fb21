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

/**
 * Declares a dispatched/running job lost when its agent has been away longer
 * than `jobLostGraceS`. The "away since" time comes from the log
 * (AgentDisconnected), so the timer survives control-plane restarts; hosts the
 * log still shows connected after a crash get an AgentDisconnected at boot.
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
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.closeStaleConnections();
    const every = Math.max(200, Math.min(5000, (this.config.jobLostGraceS * 1000) / 4));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** After a crash the log may still say "connected" for hosts whose sockets died with the old process. */
  private async closeStaleConnections(): Promise<void> {
    const now = new Date().toISOString();
    for (const host of this.fleet.state.hosts.values()) {
      if (!host.connectedInLog || this.sessions.isOnline(host.hostId)) continue;
      try {
        await this.writer.append(
          hostStream(host.hostId),
          [
            {
              type: 'AgentDisconnected',
              data: { host_id: host.hostId, reason: 'server_shutdown', disconnected_at: now },
            },
          ],
          systemContext(),
          { expectedRevision: host.revision },
        );
      } catch (err) {
        if (!isEventStoreError(err, 'WrongExpectedVersion')) throw err;
      }
    }
  }

  async sweep(now = Date.now()): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    let lost = 0;
    try {
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
