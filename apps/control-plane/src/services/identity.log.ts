import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Subscription } from 'rxjs';
import { EVENT_STORE, type AppendOptions, type EventStore } from '@rf/event-store';
import { toEventData, type FleetEvent, type Position, type RecordedEvent } from '@rf/events';
import type { Actor } from '../core/actor';
import { IdentityState } from '../domain/identity.state';

export const IDENTITY_STREAM_PREFIXES = ['user-', 'token-', 'enrolment-', 'host-'] as const;

const RESUBSCRIBE_DELAY_MS = 1000;
const CATCH_UP_TIMEOUT_MS = 60_000;

/**
 * The identity state and the only way auth writes to the log. Boot waits until
 * the subscription has caught up, so a restarted control plane knows every
 * user, token and host before it answers a request. Our own appends are
 * applied at once (the later delivery of the same event is deduplicated by
 * event id), so a write is visible to the next request.
 */
@Injectable()
export class IdentityLog implements OnModuleInit, OnModuleDestroy {
  readonly state = new IdentityState();
  private readonly logger = new Logger(IdentityLog.name);
  private subscription: Subscription | undefined;
  private lastPosition: Position | 'start' = 'start';
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  onModuleInit(): Promise<void> {
    return this.start();
  }

  onModuleDestroy(): void {
    this.stop();
  }

  /** Subscribes and resolves once the catch-up phase is over. */
  async start(): Promise<void> {
    this.stopped = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`identity state did not catch up within ${CATCH_UP_TIMEOUT_MS} ms`)),
        CATCH_UP_TIMEOUT_MS,
      );
      this.subscribe(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  /** Validates events against the catalog, appends them to one stream with the actor in their metadata, and applies them at once. */
  async append(
    stream: string,
    events: readonly FleetEvent[],
    actor: Actor,
    options: AppendOptions = {},
  ): Promise<void> {
    const correlationId = randomUUID();
    const receivedAt = new Date();
    const metadata = {
      actor: { kind: actor.kind, id: actor.id, ...(actor.name ? { name: actor.name } : {}) },
      correlation_id: correlationId,
      causation_id: correlationId,
      received_at: receivedAt.toISOString(),
    };
    const prepared = events.map((e) => toEventData(e, metadata));
    const result = await this.store.append(stream, prepared, options);
    const first = result.nextExpectedRevision - prepared.length + 1;
    prepared.forEach((e, i) =>
      this.state.apply({
        id: e.id,
        type: e.type,
        streamId: stream,
        revision: first + i,
        position: result.position,
        data: e.data,
        metadata: e.metadata,
        created: receivedAt,
      }),
    );
  }

  private subscribe(onCaughtUp?: () => void, onFirstError?: (err: unknown) => void): void {
    let caughtUp = false;
    this.subscription = this.store
      .subscribeToAll({ fromPosition: this.lastPosition, streamNamePrefixes: IDENTITY_STREAM_PREFIXES })
      .subscribe({
        next: (item) => {
          if (item.kind === 'caughtUp') {
            if (!caughtUp) onCaughtUp?.();
            caughtUp = true;
            return;
          }
          this.applyDelivered(item.event);
        },
        error: (err: unknown) => {
          if (!caughtUp && onFirstError) return onFirstError(err);
          if (this.stopped) return;
          this.logger.error(`identity subscription failed; resubscribing: ${String(err)}`);
          this.retryTimer = setTimeout(() => this.subscribe(), RESUBSCRIBE_DELAY_MS);
        },
      });
  }

  private applyDelivered(event: RecordedEvent): void {
    this.lastPosition = event.position;
    this.state.apply(event);
  }
}
