import { performance } from 'node:perf_hooks';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { JobLogQuery } from '@rf/projections';
import { AppConfig } from '../core/app-config';

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const FIRST_PRUNE_DELAY_MS = 60 * 1000;
const DAY_MS = 86_400_000;
/** Lines deleted per transaction: a few milliseconds of writer time. */
const LINES_PER_STEP = 5000;
/** Pages (4 KiB) returned to the file system per incremental_vacuum step. */
const PAGES_PER_STEP = 2000;

/**
 * Removes persisted job log lines once their job finished longer ago than
 * `RF_LOG_RETENTION_DAYS` (the `joblog-*` streams' maxAge) and returns the
 * space to the file system: a minute after boot, then hourly.
 */
@Injectable()
export class JobLogRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('JobLogRetention');
  private first: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private hinted = false;
  private running = false;
  private stopped = false;

  constructor(
    private readonly jobLog: JobLogQuery,
    private readonly config: AppConfig,
  ) {}

  /**
   * The first pass runs a little after boot, not during it: after an upgrade or a
   * rebuild it visits every job that ever expired, and start-up must not
   * (docs/architecture.md, "State that starts fast").
   */
  onApplicationBootstrap(): void {
    this.first = setTimeout(() => void this.prune(new Date()), FIRST_PRUNE_DELAY_MS);
    this.first.unref();
    this.timer = setInterval(() => void this.prune(new Date()), PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.first) clearTimeout(this.first);
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * One pass: deletes expired lines in bounded steps, then returns the freed
   * pages to the file system in bounded steps, yielding to the event loop
   * between steps (docs/architecture.md, "Read-model retention"). Resolves with
   * what the pass did; never throws (a failure is logged, the next pass retries).
   */
  async prune(now: Date): Promise<RetentionPass> {
    const cutoff = new Date(now.getTime() - this.config.logRetentionDays * DAY_MS).toISOString();
    const pass = { linesRemoved: 0, pagesFreed: 0, longestStepMs: 0 };
    if (this.running || this.stopped) return pass;
    this.running = true;
    const timed = <T>(step: () => T): T => {
      const t0 = performance.now();
      try {
        return step();
      } finally {
        pass.longestStepMs = Math.max(pass.longestStepMs, performance.now() - t0);
      }
    };
    try {
      for (;;) {
        const step = timed(() => this.jobLog.pruneStep(cutoff, LINES_PER_STEP));
        pass.linesRemoved += step.removed;
        if (step.done || this.stopped) break;
        await yieldToEventLoop();
      }
      for (;;) {
        const step = timed(() => this.jobLog.reclaimStep(PAGES_PER_STEP));
        pass.pagesFreed += step.pagesFreed;
        if (step.pagesFreed === 0 || this.stopped) {
          if (!step.incremental && step.freePages > 0 && !this.hinted) {
            this.hinted = true;
            this.logger.log(
              `readmodels.db was created without incremental auto_vacuum: ${step.freePages} free pages are reused, not returned to the file system (docs/architecture.md, "Read-model retention")`,
            );
          }
          break;
        }
        await yieldToEventLoop();
      }
      if (pass.linesRemoved > 0)
        this.logger.log(
          `pruned ${pass.linesRemoved} expired job log lines (finished before ${cutoff}), returned ${pass.pagesFreed} pages to the file system; longest step ${Math.round(pass.longestStepMs)} ms`,
        );
    } catch (err) {
      this.logger.warn(
        `could not prune expired job log lines: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      this.running = false;
    }
    return pass;
  }
}

export interface RetentionPass {
  readonly linesRemoved: number;
  readonly pagesFreed: number;
  /** The longest single step (one transaction or one incremental_vacuum), which is how long readers and the projection writer waited at most. */
  readonly longestStepMs: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
