import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  type EncryptedSecret,
  type EventMetadataInput,
  type FleetEvent,
  fleetEvent,
  type FleetEventDataMap,
  type FleetEventType,
  toEventData,
} from '@rf/events';
import type { SecretSealer } from '../../channels/channel-config';
import type { WatchedEvent } from '../../rules/fleet-watch.state';
import type { DeliveryRecordLog } from '../notifier';

const META: EventMetadataInput = {
  actor: { kind: 'system', id: 'test' },
  correlation_id: 'test',
  causation_id: 'test',
  received_at: new Date(0).toISOString(),
};

/**
 * An in-memory event log for notifier specs: every event passes the catalog's
 * validation on the way in (as with the real store), an id appended twice is
 * stored once, and followers get new events after the append returns, as a
 * log subscription would deliver them.
 */
export class MemoryLog implements DeliveryRecordLog {
  readonly events: Array<WatchedEvent & { readonly stream: string }> = [];
  private readonly followers: Array<(events: readonly WatchedEvent[]) => void> = [];
  private readonly ids = new Set<string>();
  private readonly counts = new Map<string, number>();

  add<K extends FleetEventType>(stream: string, type: K, data: FleetEventDataMap[K]): this {
    this.store(stream, fleetEvent(type, data), `${type}-${this.events.length}`);
    return this;
  }

  async append(
    stream: string,
    records: ReadonlyArray<{ readonly id: string; readonly event: FleetEvent }>,
  ): Promise<void> {
    const added = records.flatMap((r) => (this.store(stream, r.event, r.id) ? [this.events.at(-1)!] : []));
    if (added.length > 0) setImmediate(() => this.followers.forEach((f) => f(added)));
  }

  /** Feeds every event so far, then every later one, to `apply`; `caughtUp` runs after each delivery. */
  follow(apply: (e: WatchedEvent) => void, caughtUp: () => void): void {
    for (const e of this.events) apply(e);
    caughtUp();
    this.followers.push((events) => {
      for (const e of events) apply(e);
      caughtUp();
    });
  }

  /** How many events of `type` the log holds (cheap enough to poll). */
  count(type: FleetEventType): number {
    return this.counts.get(type) ?? 0;
  }

  of<K extends FleetEventType>(type: K): Array<FleetEventDataMap[K]> {
    return this.events.flatMap((e) => (e.type === type ? [e.data as FleetEventDataMap[K]] : []));
  }

  private store(stream: string, event: FleetEvent, id: string): boolean {
    toEventData(event, META);
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    this.counts.set(event.type, (this.counts.get(event.type) ?? 0) + 1);
    this.events.push({ ...event, id, stream, created: new Date() } as WatchedEvent & { stream: string });
    return true;
  }
}

/** A real AES-256-GCM sealer with a throwaway key (the control plane brings its own). */
export function testSealer(): SecretSealer {
  const key = randomBytes(32);
  return {
    seal(plaintext: string): EncryptedSecret {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const ciphertext = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
      return {
        alg: 'aes-256-gcm',
        key_id: 'test',
        iv: iv.toString('base64'),
        tag: c.getAuthTag().toString('base64'),
        ciphertext: ciphertext.toString('base64'),
      };
    },
    open(s: EncryptedSecret): string {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(s.iv, 'base64'));
      d.setAuthTag(Buffer.from(s.tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(s.ciphertext, 'base64')), d.final()]).toString('utf8');
    },
  };
}
