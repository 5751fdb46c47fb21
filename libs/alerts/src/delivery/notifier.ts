import { type FleetEventOf, fleetEvent, nameBasedUuid } from '@rf/events';
import {
  type OpenedChannel,
  openChannel,
  ChannelSettingsError,
  type SecretSealer,
} from '../channels/channel-config';
import { DeliveryError } from '../channels/delivery-error';
import { type Notice, testNotice } from '../channels/notice';
import type { WatchedEvent } from '../rules/fleet-watch.state';
import { type ConfiguredChannel, DeliveryPlanner, type DueDelivery } from './delivery-planner';
import { DeliveryQueue } from './delivery-queue';
import { DEFAULT_RETRY_POLICY, nextAttemptAt, type RetryPolicy } from './retry-policy';
import { systemTimer, type Timer } from './timer';

export type DeliveryRecord = FleetEventOf<'NotificationSent'> | FleetEventOf<'NotificationFailed'>;

/** Where delivery records go: the log (the control plane appends them to `stream`). */
export interface DeliveryRecordLog {
  append(
    stream: string,
    records: ReadonlyArray<{ readonly id: string; readonly event: DeliveryRecord }>,
  ): Promise<void>;
}

/** Sends one notice through one opened channel (ChannelSender in production). */
export interface NoticeSender {
  send(channel: OpenedChannel, notice: Notice): Promise<void>;
}

export interface DeliveryOutcome {
  readonly channel: ConfiguredChannel;
  readonly delivery: DueDelivery;
  readonly result: 'sent' | 'failed' | 'given_up';
  readonly error?: DeliveryError;
}

export interface NotifierOptions {
  readonly sender: NoticeSender;
  readonly sealer: SecretSealer;
  readonly log: DeliveryRecordLog;
  readonly timer?: Timer;
  readonly retry?: RetryPolicy;
  /** A planner restored from its snapshot (DeliveryPlanner.fromSnapshot); default: an empty one. */
  readonly planner?: DeliveryPlanner;
  /** Deliveries in flight per channel. Default 2. */
  readonly concurrencyPerChannel?: number;
  /** Called after every attempt (metrics); never given a secret. */
  readonly onOutcome?: (outcome: DeliveryOutcome) => void;
  /** Called when a record could not be appended (the delivery stays owed and is tried again). */
  readonly onRecordError?: (err: unknown) => void;
}

/** How long to wait before trying again when the log refused a record or a lane was full. */
const RECORD_RETRY_MS = 5_000;

const attemptKey = (deliveryId: string, attempt: number): string => `${deliveryId}#${attempt}`;

/**
 * Delivers what the planner says is owed, through per-channel queues, and
 * records each outcome in the log (docs/alerts.md, "Delivery"). Feed it every
 * event of the log in order (`apply`) and call `wake` once caught up (and
 * after each later batch); it also wakes itself when a retry or reminder falls
 * due. A notification counts as delivered once the receiver accepted it and
 * `NotificationSent` is stored; until the record is back through `apply`, that
 * attempt is not started again.
 */
export class Notifier {
  readonly planner: DeliveryPlanner;
  private readonly queue: DeliveryQueue<DueDelivery>;
  private readonly timer: Timer;
  private readonly retry: RetryPolicy;
  /** Attempts whose record is appended (or being appended) but not yet applied. */
  private readonly recording = new Set<string>();
  private wakeHandle: unknown;
  private wakeAt: number | undefined;
  private closed = false;

  constructor(private readonly options: NotifierOptions) {
    this.planner = options.planner ?? new DeliveryPlanner();
    this.timer = options.timer ?? systemTimer;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.queue = new DeliveryQueue((d) => this.attempt(d), {
      concurrency: options.concurrencyPerChannel ?? 2,
      maxWaitingPerLane: 10_000,
    });
  }

  apply(e: WatchedEvent): void {
    this.planner.apply(e);
    if (e.type === 'NotificationSent' || e.type === 'NotificationFailed')
      this.recording.delete(attemptKey(e.data.delivery_id, e.data.attempt));
  }

  /** Starts what is due now and arms the timer for what falls due next. */
  wake(): void {
    if (this.closed) return;
    const now = this.timer.now();
    for (const d of this.planner.takeDue(now)) {
      const key = attemptKey(d.deliveryId, d.attempt);
      if (this.recording.has(key) || this.queue.has(key)) continue;
      // A full lane (a receiver far behind): hand it back and look again later.
      if (!this.queue.offer(d.channel.id, key, d)) this.retryLater(d);
    }
    this.armAt(this.planner.nextDueAt());
  }

  /** Resolves once no delivery is queued or running. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stops waking; deliveries already running finish (each is bounded by its timeout). */
  async close(): Promise<void> {
    this.closed = true;
    this.armAt(undefined);
    await this.queue.idle();
  }

  /**
   * "Send test": one test notice to a configured channel, now, outside the
   * queues and unrecorded. Resolves when accepted; throws a DeliveryError.
   */
  async sendTest(channelId: string): Promise<void> {
    const c = this.planner.channels.get(channelId);
    if (c === undefined) throw new DeliveryError('failed', `channel ${channelId} does not exist`, false);
    const id = nameBasedUuid(`delivery/test/${channelId}/${this.timer.now()}`);
    const sentAt = new Date(this.timer.now());
    const notice: Notice =
      c.kind === 'healthchecks'
        ? {
            type: 'ping',
            transition: 'log',
            deliveryId: id,
            jobId: 'test',
            detail: 'test ping from restic-fleet',
            sentAt,
          }
        : testNotice(id, sentAt);
    await this.options.sender.send(this.open(c), notice);
  }

  /** Opened once per configuration (a reconfigured channel is a new object), not per notification. */
  private readonly opened = new WeakMap<ConfiguredChannel, OpenedChannel>();

  private open(c: ConfiguredChannel): OpenedChannel {
    try {
      let o = this.opened.get(c);
      if (o === undefined) this.opened.set(c, (o = openChannel(c.kind, c.settings, this.options.sealer)));
      return o;
    } catch (err) {
      if (err instanceof ChannelSettingsError) throw new DeliveryError(err.code, err.message, false);
      throw err;
    }
  }

  private async attempt(d: DueDelivery): Promise<void> {
    const started = this.timer.now();
    let record: DeliveryRecord;
    let outcome: DeliveryOutcome;
    try {
      await this.options.sender.send(this.open(d.channel), d.notice(new Date(started)));
      record = fleetEvent('NotificationSent', {
        ...recordFields(d),
        sent_at: new Date(this.timer.now()).toISOString(),
      });
      outcome = { channel: d.channel, delivery: d, result: 'sent' };
    } catch (err) {
      const error =
        err instanceof DeliveryError
          ? err
          : new DeliveryError('failed', `delivery failed: ${(err as Error).message}`, true);
      const now = this.timer.now();
      const retryAt = error.retryable
        ? nextAttemptAt(this.retry, d.firstAttemptAt ?? started, d.attempt, now)
        : undefined;
      record = fleetEvent('NotificationFailed', {
        ...recordFields(d),
        error: error.message.length > 2048 ? `${error.message.slice(0, 2047)}…` : error.message,
        failed_at: new Date(now).toISOString(),
        ...(retryAt !== undefined ? { retry_at: new Date(retryAt).toISOString() } : {}),
      });
      outcome = {
        channel: d.channel,
        delivery: d,
        result: retryAt === undefined ? 'given_up' : 'failed',
        error,
      };
    }
    const key = attemptKey(d.deliveryId, d.attempt);
    this.recording.add(key);
    try {
      const id = nameBasedUuid(`${record.type}/${d.deliveryId}/${d.attempt}`);
      await this.options.log.append(d.stream, [{ id, event: record }]);
    } catch (err) {
      // Not recorded, so still owed: tried again later (receivers drop repeats by X-RF-Delivery).
      this.recording.delete(key);
      this.options.onRecordError?.(err);
      this.retryLater(d);
    }
    this.options.onOutcome?.(outcome);
  }

  /** Gives a delivery back to the planner and looks again after a pause. */
  private retryLater(d: DueDelivery): void {
    if (this.closed) return;
    this.timer.setTimeout(() => {
      this.planner.reopen(d);
      this.wake();
    }, RECORD_RETRY_MS);
  }

  private armAt(at: number | undefined): void {
    if (at === this.wakeAt && (at === undefined || this.wakeHandle !== undefined)) return;
    if (this.wakeHandle !== undefined) this.timer.clearTimeout(this.wakeHandle);
    this.wakeHandle = undefined;
    this.wakeAt = at;
    if (at === undefined || this.closed) return;
    this.wakeHandle = this.timer.setTimeout(
      () => {
        this.wakeHandle = undefined;
        this.wakeAt = undefined;
        this.wake();
      },
      Math.max(0, at - this.timer.now()),
    );
  }
}

/** The fields every record of an attempt at `d` carries. */
export function recordFields(d: DueDelivery) {
  const about = d.transition === 'start' || d.transition === 'success' || d.transition === 'fail';
  return {
    channel_id: d.channel.id,
    transition: d.transition,
    delivery_id: d.deliveryId,
    ...(about ? { job_id: d.aboutId } : { alert_id: d.aboutId }),
    ...(d.reminder !== undefined ? { reminder: d.reminder } : {}),
    attempt: d.attempt,
  };
}
