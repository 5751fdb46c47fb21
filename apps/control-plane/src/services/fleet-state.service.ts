import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { comparePositions, hostStream, type Position } from '@rf/events';
import { EVENT_STORE, isEventStoreError, type EventStore } from '@rf/event-store';
import { FLEET_STATE_PREFIXES, FleetState } from '../domain/fleet-state';

const CATCH_UP_TIMEOUT_MS = 120_000;
const RESUBSCRIBE_DELAY_MS = 1000;

/**
 * Keeps `FleetState` current from a `$all` subscription (host-, job-,
 * schedules- streams). Boot waits for the catch-up, so decisions after a
 * restart see every earlier event; `waitFor(position)` gives a writer
 * read-your-writes before it decides again.
 */
@Injectable()
export class FleetStateService implements OnModuleInit, OnModuleDestroy {
  readonly state = new FleetState();
  private readonly logger = new Logger(FleetStateService.name);
  private subscription: Subscription | undefined;
  private waiters: Array<{ position: Position; resolve: () => void }> = [];
  private listeners: Array<(state: FleetState) => void> = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  onModuleInit(): Promise<void> {
    return this.subscribe();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.subscription?.unsubscribe();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** Called after every applied batch of events (e.g. to re-arm timers). */
  onChange(listener: (state: FleetState) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves once the state has applied the event at `position` (bounded by `timeoutMs`). */
  waitFor(position: Position, timeoutMs = 10_000): Promise<void> {
    if (this.reached(position)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`fleet state did not reach position ${position.commit} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
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

  private reached(position: Position): boolean {
    return this.state.position !== null && comparePositions(this.state.position, position) >= 0;
  }

  private subscribe(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let caughtUp = false;
      const timer = setTimeout(() => {
        if (!caughtUp)
          reject(
            new Error(`fleet state did not catch up with the event log within ${CATCH_UP_TIMEOUT_MS} ms`),
          );
      }, CATCH_UP_TIMEOUT_MS);
      let pending = false;
      const flush = () => {
        pending = false;
        for (const w of this.waiters) if (this.reached(w.position)) w.resolve();
        this.waiters = this.waiters.filter((w) => !this.reached(w.position));
        if (caughtUp) for (const l of this.listeners) l(this.state);
      };
      this.subscription = this.store
        .subscribeToAll({
          fromPosition: this.state.position ?? 'start',
          streamNamePrefixes: [...FLEET_STATE_PREFIXES],
        })
        .subscribe({
          next: (item) => {
            if (item.kind === 'caughtUp') {
              if (!caughtUp) {
                caughtUp = true;
                clearTimeout(timer);
                flush();
                resolve();
              }
              return;
            }
            try {
              this.state.apply(item.event);
            } catch (err) {
              this.logger.error(
                { err, stream: item.event.streamId, type: item.event.type },
                'could not apply event to fleet state',
              );
            }
            if (!pending) {
              pending = true;
              queueMicrotask(flush);
            }
          },
          error: (err: unknown) => {
            clearTimeout(timer);
            if (!caughtUp) {
              reject(err instanceof Error ? err : new Error(String(err)));
              return;
            }
            if (this.stopped) return;
            this.logger.warn({ err }, 'fleet state subscription failed; resubscribing');
            this.retryTimer = setTimeout(
              () => void this.subscribe().catch(() => undefined),
              RESUBSCRIBE_DELAY_MS,
            );
          },
        });
    });
  }
}
