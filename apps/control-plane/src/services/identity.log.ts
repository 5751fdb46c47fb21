import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EVENT_STORE, isEventStoreError, type AppendOptions, type EventStore } from '@rf/event-store';
import { toEventData, type FleetEvent } from '@rf/events';
import { SnapshottedState } from '@rf/projections';
import { AppConfig } from '../core/app-config';
import type { Actor } from '../core/actor';
import { IdentityState } from '../domain/identity.state';
import { identitySnapshotCodec } from './identity.snapshot';

export const IDENTITY_STREAM_PREFIXES = ['user-', 'token-', 'enrolment-', 'host-'] as const;

const CATCH_UP_TIMEOUT_MS = 60_000;
/** How long an append waits to see itself in the state (the log delivers it within milliseconds). */
const OWN_WRITE_TIMEOUT_MS = 10_000;

/**
 * The identity state and the only way auth writes to the log. Boot restores
 * the state's snapshot and waits until the log after it is applied, so a
 * restarted control plane knows every user, token and host before it answers
 * a request. An append resolves once the state has applied it (read-your-writes),
 * so a write is visible to the next request and the state is always the log's
 * own order.
 */
@Injectable()
export class IdentityLog implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(IdentityLog.name);
  private readonly followed: SnapshottedState<IdentityState>;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    config: AppConfig,
  ) {
    this.followed = new SnapshottedState({
      name: 'the identity state',
      store,
      snapshotFile: config.readModelsPath,
      codec: identitySnapshotCodec,
      empty: () => new IdentityState(),
      streamPrefixes: IDENTITY_STREAM_PREFIXES,
      catchUpTimeoutMs: CATCH_UP_TIMEOUT_MS,
      report: {
        info: (message) => this.logger.log(message),
        warn: (err, message) => this.logger.warn({ err }, message),
      },
    });
  }

  get state(): IdentityState {
    return this.followed.state;
  }

  onModuleInit(): Promise<void> {
    return this.start();
  }

  onModuleDestroy(): void {
    this.stop();
  }

  /** Restores the snapshot, follows the log and resolves once caught up. */
  start(): Promise<void> {
    return this.followed.start();
  }

  /** Stops following the log and saves the snapshot. */
  stop(): void {
    this.followed.stop();
  }

  /**
   * Read-your-writes for a write another node made: resolves once the state
   * has applied the newest event of `stream` (at once when it has, or when the
   * stream does not exist); rejects after `timeoutMs`.
   */
  async catchUpWith(stream: string, timeoutMs: number): Promise<void> {
    try {
      const newest = this.store.readStream(stream, {
        direction: 'backwards',
        fromRevision: 'end',
        maxCount: 1,
      });
      for await (const event of newest) await this.followed.waitFor(event.position, timeoutMs);
    } catch (err) {
      if (!isEventStoreError(err, 'StreamNotFound')) throw err;
    }
  }

  /** Validates events against the catalog, appends them to one stream with the actor in their metadata, and waits until they are applied. */
  async append(
    stream: string,
    events: readonly FleetEvent[],
    actor: Actor,
    options: AppendOptions = {},
  ): Promise<void> {
    const correlationId = randomUUID();
    const metadata = {
      actor: { kind: actor.kind, id: actor.id, ...(actor.name ? { name: actor.name } : {}) },
      correlation_id: correlationId,
      causation_id: correlationId,
      received_at: new Date().toISOString(),
    };
    const prepared = events.map((e) => toEventData(e, metadata));
    const result = await this.store.append(stream, prepared, options);
    await this.followed.waitFor(result.position, OWN_WRITE_TIMEOUT_MS);
  }
}
