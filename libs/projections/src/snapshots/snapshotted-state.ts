import { LogConsumer, type EventStore, type LogBatch, type LogConsumerOptions } from '@rf/event-store';
import { type Position, type RecordedEvent } from '@rf/events';
import { StateSnapshots, type StateSnapshotCodec, type StateSnapshotsOptions } from './state-snapshots';

/** A state kept in memory by folding log events; it knows the last position it applied. */
export interface FoldedState {
  readonly position: Position | null;
  apply(event: RecordedEvent): void;
}

export interface SnapshottedStateOptions<S extends FoldedState> {
  /** Names the state in errors and logs, e.g. "the fleet state". */
  readonly name: string;
  readonly store: EventStore;
  /** `readmodels.db`, where the snapshot lives. */
  readonly snapshotFile: string;
  readonly codec: StateSnapshotCodec<S>;
  /** The state of an empty log. */
  readonly empty: () => S;
  readonly streamPrefixes?: readonly string[];
  /**
   * Start-up fails when catching up makes no progress for this long. A long
   * replay (a big log, a changed snapshot version) is not a failure: it goes
   * on as long as events are being applied, and says how far it got.
   */
  readonly catchUpTimeoutMs: number;
  /** How often a long catch-up reports its progress (default 15 s). */
  readonly progressEveryMs?: number;
  readonly snapshots?: Omit<StateSnapshotsOptions, 'onSaveError'>;
  readonly consumer?: Pick<LogConsumerOptions, 'retryMs' | 'maxRetryMs' | 'batchSize'>;
  /** Where failures and replays are told; the state carries on. */
  readonly report: {
    info(message: string): void;
    warn(err: unknown, message: string): void;
  };
  /** After each applied batch (the state is current up to `batch.position`). */
  readonly afterBatch?: (batch: LogBatch) => void;
}

/**
 * An in-memory fold that starts fast: restored from its snapshot, then a
 * `LogConsumer` applies only what came after it; the snapshot is saved on a
 * count/time cadence and on stop (docs/architecture.md, "State that starts fast").
 * A snapshot of another version, unreadable, or past the log's head is
 * discarded and the state is replayed from the start of the log.
 */
export class SnapshottedState<S extends FoldedState> {
  private current: S;
  private readonly consumer: LogConsumer;
  private snapshots: StateSnapshots<S> | undefined;

  constructor(private readonly options: SnapshottedStateOptions<S>) {
    this.current = options.empty();
    this.consumer = new LogConsumer(options.store, (batch) => this.apply(batch), {
      name: options.name,
      ...(options.streamPrefixes ? { streamPrefixes: options.streamPrefixes } : {}),
      ...options.consumer,
      onError: (err, retrying) =>
        options.report.warn(
          err,
          retrying
            ? `${options.name}: following the log failed; resubscribing`
            : `${options.name} stopped following the log`,
        ),
    });
  }

  get state(): S {
    return this.current;
  }

  get log(): LogConsumer {
    return this.consumer;
  }

  /** Restores the snapshot, follows the log and resolves once caught up (rejects when catching up stalls). */
  async start(): Promise<void> {
    const o = this.options;
    this.snapshots ??= StateSnapshots.open(o.snapshotFile, o.codec, {
      ...o.snapshots,
      onSaveError: (err) => o.report.warn(err, `${o.name}: could not save its snapshot`),
    });
    const { outcome, state } = this.snapshots.restore(await o.store.headPosition());
    if (state) this.current = state;
    else if (outcome.kind !== 'restored')
      o.report.info(`${o.name}: replaying from the log (${outcome.reason})`);
    this.consumer.start(this.current.position);
    const every = Math.min(o.progressEveryMs ?? 15_000, o.catchUpTimeoutMs);
    const started = Date.now();
    let seen = this.consumer.position?.commit ?? 0n;
    let progressAt = started;
    while (!(await this.consumer.whenCaughtUp(every))) {
      const now = Date.now();
      if (!this.consumer.isRunning) {
        this.stop();
        throw new Error(`${o.name} stopped following the event log while catching up`);
      }
      const at = this.consumer.position?.commit ?? 0n;
      if (at > seen) {
        seen = at;
        progressAt = now;
        const behind = (await this.consumer.lag()).eventsBehind;
        o.report.info(
          `${o.name}: still catching up with the log after ${Math.round((now - started) / 1000)} s, about ${behind} events to go`,
        );
      } else if (now - progressAt >= o.catchUpTimeoutMs) {
        this.stop();
        throw new Error(
          `${o.name} made no progress catching up with the event log for ${o.catchUpTimeoutMs} ms`,
        );
      }
    }
  }

  /** Stops following the log and saves the snapshot (clean shutdown). */
  stop(): void {
    this.consumer.stop();
    if (!this.snapshots) return;
    this.snapshots.save(this.current, this.current.position);
    this.snapshots.close();
    this.snapshots = undefined;
  }

  /** Read-your-writes: resolves once the state applied `position`; rejects with a LogConsumerError. */
  waitFor(position: Position, timeoutMs: number): Promise<void> {
    return this.consumer.waitForPosition(position, timeoutMs);
  }

  private apply(batch: LogBatch): void {
    for (const event of batch.events) {
      try {
        this.current.apply(event);
      } catch (err) {
        this.options.report.warn(
          err,
          `${this.options.name}: could not apply ${event.type} of ${event.streamId}`,
        );
      }
    }
    this.snapshots?.applied(this.current, this.current.position, batch.events.length);
    this.options.afterBatch?.(batch);
  }
}
