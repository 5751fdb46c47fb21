import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { JobLogQuery } from '@rf/projections';
import { AppConfig } from '../core/app-config';

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const FIRST_PRUNE_DELAY_MS = 60 * 1000;
const DAY_MS = 86_400_000;

/**
 * Removes persisted job log lines once their job finished longer ago than
 * `RF_LOG_RETENTION_DAYS` (the `joblog-*` streams' maxAge): a minute after
 * boot, then hourly.
 */
@Injectable()
export class JobLogRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('JobLogRetention');
  private first: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly jobLog: JobLogQuery,
    private readonly config: AppConfig,
  ) {}

  /**
   * The first pass runs a little after boot, not during it: it visits every job
   * that ever expired, which grows with the history, and start-up must not
   * (docs/architecture.md, "State that starts fast").
   */
  onApplicationBootstrap(): void {
    this.first = setTimeout(() => this.prune(new Date()), FIRST_PRUNE_DELAY_MS);
    this.first.unref();
    this.timer = setInterval(() => this.prune(new Date()), PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.first) clearTimeout(this.first);
    if (this.timer) clearInterval(this.timer);
  }

  /** Returns the number of lines removed. */
  prune(now: Date): number {
    const cutoff = new Date(now.getTime() - this.config.logRetentionDays * DAY_MS).toISOString();
    try {
      const removed = this.jobLog.pruneFinishedBefore(cutoff);
      if (removed > 0) this.logger.log(`pruned ${removed} expired job log lines (finished before ${cutoff})`);
      return removed;
    } catch (err) {
      this.logger.warn(
        `could not prune expired job log lines: ${err instanceof Error ? err.message : String(err)}`,
      );
      return 0;
    }
  }
}
