import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type Database from 'better-sqlite3';
import { EVENT_STORE, SqliteWalCheckpointer, type EventStore } from '@rf/event-store';
import { type Position } from '@rf/events';
import {
  ALL_PROJECTIONS,
  openReadModelsDatabase,
  ProjectionRunner,
  type ProjectionLag,
  type ProjectionState,
} from '@rf/projections';
import { AppConfig } from '../core/app-config';
import { MetricsRegistry } from '../core/metrics.registry';

/** How long boot waits for the read models to catch up before serving (stale reads are better than no boot). */
const CATCH_UP_TIMEOUT_MS = 120_000;
/** How long a clean stop waits for the read models to apply the last appends. */
const SHUTDOWN_DRAIN_MS = 5_000;

/**
 * Owns `readmodels.db` and the projection runner for the life of the app:
 * starts the runner once the event store exists (module init), waits a bounded
 * time for catch-up, stops it and closes the database on shutdown.
 * A `projections rebuild` run next to this process swaps tables in; the
 * runner notices the new generation on its next batch and carries on from the
 * rebuilt checkpoints, so no restart is needed.
 */
@Injectable()
export class ProjectionStatus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Projections');
  readonly database: Database.Database;
  private readonly runner: ProjectionRunner;
  private readonly checkpointer: SqliteWalCheckpointer | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    config: AppConfig,
    @Optional() metrics?: MetricsRegistry,
  ) {
    this.database = openReadModelsDatabase(config.readModelsPath);
    // Checkpoints of this busy file (every log line touches it) stay off the event loop that acks agents.
    this.checkpointer =
      config.readModelsPath === ':memory:'
        ? undefined
        : new SqliteWalCheckpointer(this.database, config.readModelsPath, {
            onError: (message) => this.logger.warn(message),
          });
    const observeBatch = metrics?.histogram(
      'rf_projection_batch_seconds',
      'Time to apply one batch of events to the read models (one SQLite transaction)',
    );
    this.runner = new ProjectionRunner(store, this.database, ALL_PROJECTIONS, {
      ...(observeBatch ? { onBatch: (_events: number, seconds: number) => observeBatch(seconds) } : {}),
      onError: (err) =>
        this.logger.warn(
          `projection batch failed, retrying from the checkpoint: ${err instanceof Error ? err.message : String(err)}`,
        ),
    });
  }

  async onModuleInit(): Promise<void> {
    const reset = this.runner.start();
    if (reset.length > 0)
      this.logger.log(`rebuilding read models from the start of the log: ${reset.join(', ')}`);
    const caughtUp = await this.runner.whenCaughtUp(CATCH_UP_TIMEOUT_MS);
    if (!caughtUp)
      this.logger.warn(`read models still catching up after ${CATCH_UP_TIMEOUT_MS} ms; serving meanwhile`);
  }

  async onApplicationShutdown(): Promise<void> {
    // A clean stop leaves the read models current: apply what the last moments appended (bounded).
    try {
      const head = await this.store.headPosition();
      if (head) await this.runner.waitForPosition(head, SHUTDOWN_DRAIN_MS);
    } catch (err) {
      this.logger.warn(
        `read models not caught up at shutdown: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    await this.runner.stop();
    await this.checkpointer?.stop();
    if (this.database.open) this.database.close();
  }

  /** Lowest checkpoint of all projections (null = nothing applied yet). */
  checkpoint(): Position | null {
    return this.runner.checkpoint();
  }

  checkpoints(): ProjectionState[] {
    return this.runner.checkpoints();
  }

  /** Lag for /readyz and /metrics. */
  lag(): Promise<ProjectionLag> {
    return this.runner.lag();
  }

  /** Read-your-writes: resolves once every read model applied `position`; rejects with ProjectionError `WaitTimeout`. */
  waitForPosition(position: Position, timeoutMs: number): Promise<void> {
    return this.runner.waitForPosition(position, timeoutMs);
  }

  whenCaughtUp(timeoutMs: number): Promise<boolean> {
    return this.runner.whenCaughtUp(timeoutMs);
  }
}
