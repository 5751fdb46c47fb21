import type Database from 'better-sqlite3';
import type { Subscription } from 'rxjs';
import { comparePositions, type Position } from '@rf/events';
import { type EventStore } from '@rf/event-store';
import { batchEvents, type EventBatch } from './batch-events.operator';
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
  readonly now?: () => number;
}

export interface ProjectionLag {
  /** Lowest checkpoint of all projections; null = nothing applied. */
  readonly checkpoint: Position | null;
  readonly head: Position | null;
  /** `head.commit - checkpoint.commit`: exact for the SQLite store (commit = global sequence); for EventStoreDB it is a byte distance, reported as-is. */
  readonly eventsBehind: number;
  /** Age of the oldest event not yet applied (its recorded time to now); 0 when caught up. */
  readonly msBehind: number;
  readonly caughtUp: boolean;
  readonly running: boolean;
  readonly lastError: string | null;
  readonly eventsApplied: number;
}

interface Waiter {
  readonly position: Position;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Feeds projections from `$all`: subscribe from the lowest checkpoint, batch,
 * apply each batch and its checkpoints in one transaction. On a failed batch
 * it drops the subscription and resubscribes from the committed checkpoint;
 * when a `projections rebuild` swaps tables in (generation change) it reloads
 * checkpoints and resubscribes, so serve picks up rebuilt tables without a restart.
 */
export class ProjectionRunner {
  private readonly writer: ReadModelWriter;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private subscription: Subscription | undefined;
  /** Bumped on every (re)subscription so late items of a dropped subscription are ignored. */
  private epoch = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private running = false;
  private caughtUp = false;
  private lastError: string | null = null;
  private eventsApplied = 0;
  private waiters: Waiter[] = [];
  private caughtUpWaiters: Array<() => void> = [];
  private reset: string[] = [];

  constructor(
    private readonly store: EventStore,
    db: Database.Database,
    projections: readonly ProjectionDefinition[],
    private readonly options: ProjectionRunnerOptions = {},
  ) {
    this.writer = new ReadModelWriter(db, projections);
    this.batchSize = options.batchSize ?? 1000;
    this.flushMs = options.flushMs ?? 50;
    this.retryMs = options.retryMs ?? 200;
    this.retryDelay = this.retryMs;
    this.now = options.now ?? Date.now;
  }

  /** Installs tables (resetting projections whose version changed) and subscribes. Returns the reset projections. */
  start(): string[] {
    if (this.running) return this.reset;
    this.reset = this.writer.install();
    this.running = true;
    this.subscribe();
    return this.reset;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.dropSubscription();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const err = new ProjectionError('RunnerStopped', 'the projection runner stopped');
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  checkpoint(): Position | null {
    return this.writer.lowestCheckpoint();
  }

  checkpoints(): ProjectionState[] {
    return this.writer.checkpoints();
  }

  isCaughtUp(): boolean {
    return this.caughtUp;
  }

  /** Resolves once every projection has applied the event at `position` (read-your-writes). */
  waitForPosition(position: Position, timeoutMs: number): Promise<void> {
    if (this.reached(position)) return Promise.resolve();
    if (!this.running)
      return Promise.reject(new ProjectionError('RunnerStopped', 'the projection runner is not running'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new ProjectionError(
            'WaitTimeout',
            `read models did not reach position ${position.commit} within ${timeoutMs} ms`,
            {
              position: position.commit.toString(),
              checkpoint: this.checkpoint()?.commit.toString() ?? null,
              timeoutMs,
            },
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = { position, resolve, reject, timer };
      this.waiters.push(waiter);
    });
  }

  /** Resolves when the runner has caught up with the log (or after `timeoutMs`, with false). */
  whenCaughtUp(timeoutMs: number): Promise<boolean> {
    if (this.caughtUp) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.caughtUpWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async lag(): Promise<ProjectionLag> {
    const head = await this.store.headPosition();
    const checkpoint = this.checkpoint();
    const behind = head === null ? 0n : head.commit - (checkpoint?.commit ?? 0n);
    const eventsBehind = behind > 0n ? Number(behind) : 0;
    const msBehind = eventsBehind === 0 ? 0 : await this.ageOfFirstUnapplied(checkpoint);
    return {
      checkpoint,
      head,
      eventsBehind,
      msBehind,
      caughtUp: this.caughtUp && eventsBehind === 0,
      running: this.running,
      lastError: this.lastError,
      eventsApplied: this.eventsApplied,
    };
  }

  /** How long the oldest event not yet applied has been waiting (one indexed read of the log). */
  private async ageOfFirstUnapplied(checkpoint: Position | null): Promise<number> {
    for await (const e of this.store.readAll({ fromPosition: checkpoint ?? 'start', maxCount: 2 })) {
      // readAll is inclusive of its start: the event at the checkpoint is already applied.
      if (checkpoint !== null && comparePositions(e.position, checkpoint) <= 0) continue;
      return Math.max(0, this.now() - e.created.getTime());
    }
    return 0;
  }

  private reached(position: Position): boolean {
    const cp = this.checkpoint();
    return cp !== null && comparePositions(cp, position) >= 0;
  }

  private subscribe(): void {
    const from = this.writer.lowestCheckpoint();
    this.caughtUp = false;
    const epoch = ++this.epoch;
    const current = (): boolean => epoch === this.epoch;
    const sub = this.store
      .subscribeToAll({ fromPosition: from ?? 'start' })
      .pipe(batchEvents(this.batchSize, this.flushMs))
      .subscribe({
        next: (batch) => current() && this.onBatch(batch),
        error: (err: unknown) => current() && this.fail(err),
        complete: () => {
          if (current() && this.running) {
            this.fail(new ProjectionError('RunnerStopped', 'the $all subscription completed unexpectedly'));
          }
        },
      });
    // The source may have emitted synchronously and already replaced this subscription.
    if (current()) this.subscription = sub;
    else sub.unsubscribe();
  }

  private dropSubscription(): void {
    this.epoch++;
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  private onBatch(batch: EventBatch): void {
    if (!this.running) return;
    let result;
    try {
      result = this.writer.applyBatch(batch.events);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (!result.committed) {
      // A rebuild swapped tables in: take its checkpoints and start over from them.
      this.restart();
      return;
    }
    this.retryDelay = this.retryMs;
    this.lastError = null;
    this.eventsApplied += batch.events.length;
    if (batch.caughtUp && !this.caughtUp) {
      this.caughtUp = true;
      for (const w of this.caughtUpWaiters.splice(0)) w();
    }
    this.releaseWaiters();
  }

  private releaseWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.reached(w.position)) {
        clearTimeout(w.timer);
        w.resolve();
      } else still.push(w);
    }
    this.waiters = still;
  }

  private restart(): void {
    this.dropSubscription();
    this.writer.load();
    if (this.running) this.subscribe();
  }

  private fail(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.options.onError?.(err);
    this.dropSubscription();
    if (!this.running) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, 5000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.running) return;
      try {
        this.writer.load();
        this.subscribe();
      } catch (e) {
        this.fail(e);
      }
    }, delay);
  }
}
