import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import type { Position } from '@rf/events';
import {
  isLogConsumerError,
  LogConsumer,
  type EventStore,
  type LogBatch,
  type LogBatchOutcome,
  type LogConsumerLag,
} from '@rf/event-store';
import type { ProjectionDefinition } from './projection.definition';
import { ProjectionError } from './projection.errors';
import type { ProjectionState } from './projection-state.repository';
import { ReadModelWriter } from './read-model.writer';

export interface ProjectionRunnerOptions {
  /** Largest batch written in one transaction. Default 1000. */
  readonly batchSize?: number;
  /** How long a partial batch waits for more events. Default 50 ms. */
  readonly flushMs?: number;
  /** First retry delay after a failed batch or subscription; doubles up to 5 s. Default 200 ms. */
  readonly retryMs?: number;
  /** Receives failures the runner recovers from (it retries from its checkpoint). */
  readonly onError?: (err: unknown) => void;
  /** Told after every committed batch: how many events it held and how long its transaction took. */
  readonly onBatch?: (events: number, seconds: number) => void;
  readonly now?: () => number;
}

/** The consumer's lag, with `checkpoint` = the lowest checkpoint of all projections. */
export interface ProjectionLag extends Omit<LogConsumerLag, 'position'> {
  readonly checkpoint: Position | null;
}

/**
 * Feeds projections from `$all` through a `LogConsumer`: starts after the
 * lowest checkpoint and applies each batch and its checkpoints in one
 * transaction. A failed batch is retried from the committed checkpoint (the
 * writer re-reads it); when a `projections rebuild` swaps tables in
 * (generation change) it reloads checkpoints and starts over from them, so
 * serve picks up rebuilt tables without a restart.
 */
export class ProjectionRunner {
  private readonly writer: ReadModelWriter;
  private readonly consumer: LogConsumer;
  private reset: string[] = [];

  constructor(
    store: EventStore,
    db: Database.Database,
    projections: readonly ProjectionDefinition[],
    private readonly options: ProjectionRunnerOptions = {},
  ) {
    this.writer = new ReadModelWriter(db, projections);
    this.consumer = new LogConsumer(store, (batch) => this.apply(batch), {
      name: 'the projection runner',
      batchSize: options.batchSize ?? 1000,
      batchWaitMs: options.flushMs ?? 50,
      retryMs: options.retryMs ?? 200,
      ...(options.now ? { now: options.now } : {}),
      onError: (err) => options.onError?.(err),
    });
  }

  /** Installs tables (resetting projections whose version changed) and subscribes. Returns the reset projections. */
  start(): string[] {
    if (this.consumer.isRunning) return this.reset;
    this.reset = this.writer.install();
    this.consumer.start(this.writer.lowestCheckpoint());
    return this.reset;
  }

  async stop(): Promise<void> {
    this.consumer.stop();
  }

  checkpoint(): Position | null {
    return this.writer.lowestCheckpoint();
  }

  checkpoints(): ProjectionState[] {
    return this.writer.checkpoints();
  }

  isCaughtUp(): boolean {
    return this.consumer.caughtUp;
  }

  /** Resolves once every projection has applied the event at `position` (read-your-writes). */
  async waitForPosition(position: Position, timeoutMs: number): Promise<void> {
    try {
      await this.consumer.waitForPosition(position, timeoutMs);
    } catch (err) {
      if (isLogConsumerError(err, 'WaitTimeout'))
        throw new ProjectionError(
          'WaitTimeout',
          `read models did not reach position ${position.commit} within ${timeoutMs} ms`,
          { ...err.details, checkpoint: this.checkpoint()?.commit.toString() ?? null },
          { cause: err },
        );
      if (isLogConsumerError(err, 'Stopped'))
        throw new ProjectionError('RunnerStopped', 'the projection runner stopped', {}, { cause: err });
      throw err;
    }
  }

  /** Resolves when the runner has caught up with the log (or after `timeoutMs`, with false). */
  whenCaughtUp(timeoutMs: number): Promise<boolean> {
    return this.consumer.whenCaughtUp(timeoutMs);
  }

  async lag(): Promise<ProjectionLag> {
    const { position: _position, ...lag } = await this.consumer.lag();
    return { ...lag, checkpoint: this.checkpoint() };
  }

  private apply(batch: LogBatch): LogBatchOutcome {
    const started = performance.now();
    const result = this.writer.applyBatch(batch.events);
    if (result.committed) this.options.onBatch?.(batch.events.length, (performance.now() - started) / 1000);
    // A rebuild swapped tables in: take its checkpoints and start over from them.
    if (!result.committed) {
      this.writer.load();
      return { restartFrom: this.writer.lowestCheckpoint() };
    }
    return undefined;
  }
}
