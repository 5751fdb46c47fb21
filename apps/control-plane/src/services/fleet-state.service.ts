import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { EVENT_STORE, isEventStoreError, isLogConsumerError, type EventStore } from '@rf/event-store';
import { hostStream, type Position, type RecordedEvent } from '@rf/events';
import { SnapshottedState } from '@rf/projections';
import { AppConfig } from '../core/app-config';
import { FLEET_STATE_PREFIXES, FleetState } from '../domain/fleet-state';
import { fleetStateSnapshotCodec } from './fleet-state.snapshot';

const CATCH_UP_TIMEOUT_MS = 120_000;

/**
 * Keeps `FleetState` current: restored from its snapshot in `readmodels.db`,
 * then a `LogConsumer` on the host-, job- and schedules- streams after it.
 * Boot waits for the catch-up, so decisions after a restart see every earlier
 * event; `waitFor(position)` gives a writer read-your-writes before it
 * decides again. The snapshot is saved on a count/time cadence and on shutdown.
 */
@Injectable()
export class FleetStateService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(FleetStateService.name);
  private readonly followed: SnapshottedState<FleetState>;
  private readonly listeners = new Set<(events: readonly RecordedEvent[]) => void>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    config: AppConfig,
  ) {
    this.followed = new SnapshottedState({
      name: 'the fleet state',
      store,
      snapshotFile: config.readModelsPath,
      codec: fleetStateSnapshotCodec(),
      empty: () => new FleetState(),
      streamPrefixes: FLEET_STATE_PREFIXES,
      catchUpTimeoutMs: CATCH_UP_TIMEOUT_MS,
      report: {
        info: (message) => this.logger.log(message),
        warn: (err, message) => this.logger.warn({ err }, message),
      },
      afterBatch: (batch) => this.notify(batch.events),
    });
  }

  get state(): FleetState {
    return this.followed.state;
  }

  /**
   * Calls `listener` with the events of every batch the state applied (synchronously, inside the
   * log consumer: keep it short, e.g. schedule work). Returns the unsubscribe function.
   */
  onApplied(listener: (events: readonly RecordedEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(events: readonly RecordedEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        this.logger.error({ err }, 'a fleet state listener failed');
      }
    }
  }

  onModuleInit(): Promise<void> {
    return this.followed.start();
  }

  onModuleDestroy(): void {
    this.followed.stop();
  }

  /**
   * Resolves once the state has applied the event at `position` (bounded by
   * `timeoutMs`). On shutdown a pending wait resolves: this process will not
   * take the decision it guards anyway.
   */
  async waitFor(position: Position, timeoutMs = 10_000): Promise<void> {
    try {
      await this.followed.waitFor(position, timeoutMs);
    } catch (err) {
      if (!isLogConsumerError(err, 'Stopped')) throw err;
    }
  }

  /**
   * Waits until the state has applied the last event of `stream`: for a
   * decision right after another area (auth's enrolment) appended to it.
   */
  async syncStream(stream: string, timeoutMs = 10_000): Promise<void> {
    try {
      for await (const e of this.store.readStream(stream, {
        direction: 'backwards',
        fromRevision: 'end',
        maxCount: 1,
      })) {
        await this.waitFor(e.position, timeoutMs);
      }
    } catch (err) {
      if (!isEventStoreError(err, 'StreamNotFound')) throw err;
    }
  }

  /** Makes sure a just-enrolled host is known before deciding about it. */
  async syncHost(hostId: string): Promise<void> {
    const known = this.state.hosts.get(hostId);
    if (known && known.revision >= 0) return;
    await this.syncStream(hostStream(hostId));
  }
}
