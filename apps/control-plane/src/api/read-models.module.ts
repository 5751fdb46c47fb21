import {
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type Database from 'better-sqlite3';
import { EVENT_STORE, type EventStore, type Position } from '@rf/events';
import {
  ALL_PROJECTIONS,
  AuditQuery,
  HostsQuery,
  JobLogQuery,
  JobsQuery,
  openReadModelsDatabase,
  ProjectionRunner,
  SchedulesQuery,
  SnapshotsQuery,
  type ProjectionLag,
} from '@rf/projections';
import { CommandsModule } from '../commands/commands.module';
import { AppConfig } from '../config/app-config';
import { MetricsRegistry } from './metrics.registry';
import { ReadinessProbes } from './readiness.probes';
import { READ_MODELS, type ReadModels } from './read-models.port';
import { ReadModelsReader } from './read-models.reader';

const CATCH_UP_TIMEOUT_MS = 120_000;
const LOG_PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Runs the projections from `libs/projections` against `$RF_DATA_DIR/readmodels.db`
 * and serves them as `READ_MODELS`. The smallest adapter on the core side
 * until the projections area's Nest module is wired in its place.
 */
@Injectable()
export class ReadModelsHost implements ReadModels, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ReadModels');
  private readonly db: Database.Database;
  private readonly runner: ProjectionRunner;
  private pruneTimer: NodeJS.Timeout | undefined;
  readonly hosts: HostsQuery;
  readonly jobs: JobsQuery;
  readonly jobLog: JobLogQuery;
  readonly snapshots: SnapshotsQuery;
  readonly schedules: SchedulesQuery;
  readonly audit: AuditQuery;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    private readonly config: AppConfig,
    probes: ReadinessProbes,
    metrics: MetricsRegistry,
  ) {
    this.db = openReadModelsDatabase(config.readModelsPath);
    this.runner = new ProjectionRunner(store, this.db, ALL_PROJECTIONS, {
      onError: (err) => this.logger.warn({ err }, 'projection batch failed; retrying from the checkpoint'),
    });
    this.hosts = new HostsQuery(this.db);
    this.jobs = new JobsQuery(this.db);
    this.jobLog = new JobLogQuery(this.db);
    this.snapshots = new SnapshotsQuery(this.db);
    this.schedules = new SchedulesQuery(this.db);
    this.audit = new AuditQuery(store, { hostName: (id) => this.hosts.get(id)?.hostname ?? undefined });
    probes.register(async (boundMs) => {
      const lag = await this.runner.lag();
      const ok = lag.running && lag.msBehind <= boundMs;
      return {
        name: 'projections',
        ok,
        detail: `${lag.eventsBehind} events / ${lag.msBehind} ms behind (bound ${boundMs} ms)`,
      };
    });
    let lastLag = { eventsBehind: 0, msBehind: 0 };
    metrics.gauge(
      'rf_projection_lag_events',
      'Events the read models are behind the log (sampled)',
      () => lastLag.eventsBehind,
    );
    metrics.gauge(
      'rf_projection_lag_ms',
      'Age of the oldest event not yet projected (sampled)',
      () => lastLag.msBehind,
    );
    metrics.gauge('rf_jobs', 'Jobs by status (read model)', () =>
      (
        this.db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status').all() as Array<{
          status: string;
          n: number;
        }>
      ).map((r) => ({ labels: { status: r.status }, value: r.n })),
    );
    const sample = setInterval(() => {
      void this.runner.lag().then(
        (l) => (lastLag = l),
        () => undefined,
      );
    }, 1000);
    sample.unref();
  }

  async onModuleInit(): Promise<void> {
    this.runner.start();
    await this.runner.whenCaughtUp(CATCH_UP_TIMEOUT_MS);
    this.pruneLogs();
    this.pruneTimer = setInterval(() => this.pruneLogs(), LOG_PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.runner.stop();
    this.db.close();
  }

  waitForPosition(position: Position, timeoutMs: number): Promise<void> {
    return this.runner.waitForPosition(position, timeoutMs);
  }

  lag(): Promise<ProjectionLag> {
    return this.runner.lag();
  }

  /** Same age as the joblog streams' maxAge, so the read model forgets what the log forgot. */
  private pruneLogs(): void {
    const cutoff = new Date(Date.now() - this.config.logRetentionDays * 86_400_000).toISOString();
    try {
      const removed = this.jobLog.pruneFinishedBefore(cutoff);
      if (removed > 0) this.logger.log({ removed }, 'pruned expired job log lines');
    } catch (err) {
      this.logger.warn({ err }, 'could not prune expired job log lines');
    }
  }
}

@Module({
  imports: [CommandsModule],
  providers: [ReadModelsHost, { provide: READ_MODELS, useExisting: ReadModelsHost }, ReadModelsReader],
  exports: [READ_MODELS, ReadModelsReader],
})
export class ReadModelsModule {}
