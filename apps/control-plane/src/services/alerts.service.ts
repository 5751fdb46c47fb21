import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  type AlertDecision,
  AlertRulesProcess,
  ChannelSender,
  ChannelSettingsError,
  DEFAULT_RETRY_POLICY,
  DeliveryError,
  type DeliveryErrorCode,
  type DeliveryOutcome,
  type DeliveryRecordLog,
  Notifier,
  type OpenAlert,
  type RuleConfiguration,
  sealChannelSettings,
  systemTimer,
  type Timer,
} from '@rf/alerts';
import {
  EVENT_STORE,
  type EventStore,
  type ExpectedRevision,
  isEventStoreError,
  isLogConsumerError,
} from '@rf/event-store';
import {
  ALERT_RULES_STREAM,
  type AlertRulesChangedData,
  alertStream,
  type ChannelKind,
  type ChannelRouting,
  channelStream,
  type FleetEvent,
  fleetEvent,
  isCatalogError,
  type Position,
} from '@rf/events';
import { type LogBatch, type LogConsumerLag } from '@rf/event-store';
import { SnapshottedState } from '@rf/projections';
import { AppConfig } from '../core/app-config';
import { AppError } from '../core/app-error';
import type { CommandContext } from '../core/command-context';
import { invalidInput } from '../core/invalid-input';
import { MetricsRegistry } from '../core/metrics.registry';
import { SecretBox } from '../core/secret-box';
import { alertsSnapshotCodec } from './alerts.snapshot';
import { ALERTS_STREAM_PREFIXES, AlertsState } from './alerts.state';
import { FleetEventWriter } from './fleet-event.writer';

/** The clock and timers the alerts run on; bound only in tests (a fake clock), else the system's. */
export const ALERTS_TIMER = Symbol('ALERTS_TIMER');

/** A channel as an administrator gives it: settings in plain text (secrets are sealed here). */
export interface ChannelInput {
  readonly kind: ChannelKind;
  readonly name: string;
  /** Plain settings of `kind` (docs/alerts.md, "Channels"); a secret left out keeps its stored value. */
  readonly settings: unknown;
  readonly routing?: ChannelRouting;
}

/** The rule settings as PUT /api/alert-rules takes them. */
export type RuleSettingsInput = Omit<AlertRulesChangedData, 'changed_at'>;

/** "Send test": accepted by the receiver, or why not (no secret in it: receivers are named by host and port). */
export type SendTestResult =
  | { readonly delivered: true }
  | {
      readonly delivered: false;
      readonly code: DeliveryErrorCode | 'invalid_channel_settings' | 'channel_secret_unavailable';
      readonly error: string;
    };

/** The actor of what the rules and the notifier append (the audit trail's "who"). */
const ALERTS_CONTEXT_ACTOR = { kind: 'system', id: 'alerts' } as const;
const CATCH_UP_TIMEOUT_MS = 120_000;
const OWN_WRITE_TIMEOUT_MS = 10_000;
/** New events are looked at this soon (one round for a burst of batches). */
const EVALUATE_AFTER_EVENTS_MS = 200;

/**
 * Alerts in the running control plane (docs/alerts.md): the rules process and
 * the notifier on one state folded from the log by a `LogConsumer`, restored
 * from its snapshot at boot so start-up replays nothing.
 *
 * - After the catch-up, and then after new events and every
 *   `RF_ALERTS_EVALUATE_MS`, the rules evaluate at the injected clock; their
 *   decisions are appended with ids derived from the log (`AlertRaised` on a
 *   new stream, `AlertResolved` at the alert's exact revision), so a second
 *   round, a restart or a second node repeats nothing.
 * - The notifier starts after the catch-up too, wakes on every batch, and
 *   records each attempt as `NotificationSent`/`NotificationFailed`; a record
 *   read back from the log is never sent again.
 * - Everything goes through `FleetEventWriter` (catalog validation, audit
 *   metadata). The write side of the alert routes is here: `acknowledge`,
 *   `setRules`, `configureChannel`, `removeChannel`, `sendTest`.
 */
@Injectable()
export class AlertsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AlertsService.name);
  private readonly followed: SnapshottedState<AlertsState>;
  private readonly timer: Timer;
  private readonly sender = new ChannelSender();
  private process: AlertRulesProcess | undefined;
  private notifier: Notifier | undefined;
  private evaluating: Promise<void> | undefined;
  private evaluateAgain = false;
  private soon: unknown;
  private tick: unknown;
  private stopped = false;
  private readonly countNotification: (by?: number, labels?: Readonly<Record<string, string>>) => void;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly config: AppConfig,
    private readonly writer: FleetEventWriter,
    private readonly box: SecretBox,
    metrics: MetricsRegistry,
    @Optional() @Inject(ALERTS_TIMER) timer?: Timer,
  ) {
    this.timer = timer ?? systemTimer;
    this.followed = new SnapshottedState({
      name: 'the alerts state',
      store,
      snapshotFile: config.readModelsPath,
      codec: alertsSnapshotCodec,
      empty: () => new AlertsState(),
      streamPrefixes: ALERTS_STREAM_PREFIXES,
      catchUpTimeoutMs: CATCH_UP_TIMEOUT_MS,
      report: {
        info: (message) => this.logger.log(message),
        warn: (err, message) => this.logger.warn({ err }, message),
      },
      afterBatch: (batch) => this.afterBatch(batch),
      // A fleet's rules state is megabytes of JSON: saved less often than the fleet state (a start replays the rest).
      snapshots: { everyEvents: 100_000, everyMs: 10 * 60_000 },
    });
    metrics.gauge(
      'rf_alerts_open',
      'Alerts not resolved yet, by rule and severity.',
      () => this.openAlertCounts(),
      ['rule', 'severity'],
    );
    this.countNotification = metrics.counter(
      'rf_notifications_total',
      'Notification attempts by channel kind and result (sent, failed = will retry, given_up).',
      ['kind', 'result'],
    );
  }

  async onModuleInit(): Promise<void> {
    await this.followed.start();
    const state = this.followed.state;
    this.process = new AlertRulesProcess({ watchingSince: new Date(this.timer.now()), watch: state.watch });
    this.notifier = new Notifier({
      sender: this.sender,
      sealer: this.box,
      log: this.recordLog(),
      timer: this.timer,
      retry: { ...DEFAULT_RETRY_POLICY, baseMs: this.config.notifyRetryBaseMs },
      planner: state.planner,
      onOutcome: (o) => this.outcome(o),
      onRecordError: (err) =>
        this.logger.warn({ err }, 'a delivery record could not be appended; it is tried again'),
    });
    state.deliveries = this.notifier;
    // Caught up: judge the present, then deliver what is owed (decisions first, so a restart sends fresh news too).
    // A failed first round does not stop the control plane: the timer tries again.
    await this.evaluate().catch((err: unknown) =>
      this.logger.warn({ err }, 'the first alert evaluation failed'),
    );
    this.notifier.wake();
    this.armTick();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    for (const h of [this.soon, this.tick]) if (h !== undefined) this.timer.clearTimeout(h);
    await this.evaluating?.catch(() => undefined);
    await this.notifier?.close();
    this.followed.stop();
  }

  /** The open alerts, as the rules see them (the alerts read model has the history). */
  openAlerts(): OpenAlert[] {
    return [...this.followed.state.watch.openAlerts()];
  }

  /** The rule configuration in force (defaults apply to what it does not set). */
  ruleConfiguration(): RuleConfiguration {
    return this.followed.state.watch.config;
  }

  /**
   * An operator acknowledges an open alert: its reminders stop; the two
   * acknowledge-only rules resolve on the next round. Acknowledging twice is
   * a no-op. `not_found` for an alert that never was, `conflict` for one already resolved.
   */
  async acknowledge(alertId: string, ctx: CommandContext, note?: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const open = this.openAlerts().find((a) => a.alertId === alertId);
      if (open === undefined) {
        const exists = await this.streamExists(alertStream(alertId));
        throw exists
          ? new AppError('conflict', `alert ${alertId} is already resolved`)
          : new AppError('not_found', `alert ${alertId} does not exist`);
      }
      if (open.acknowledged) return;
      const event = fleetEvent('AlertAcknowledged', {
        alert_id: alertId,
        by: ctx.actor.id,
        ...(note !== undefined && note !== '' ? { note } : {}),
        acknowledged_at: new Date(this.timer.now()).toISOString(),
      });
      try {
        await this.append(
          alertStream(alertId),
          event,
          ctx,
          this.followed.state.revisions.get(alertId) ?? 'any',
        );
        this.evaluateSoon();
        return;
      } catch (err) {
        // Resolved or acknowledged by someone else meanwhile: look again at what the log says now.
        if (attempt > 0 || !isEventStoreError(err, 'WrongExpectedVersion')) throw err;
        await this.syncWith(alertStream(alertId));
      }
    }
  }

  /** Replaces the whole rule configuration (PUT /api/alert-rules); `invalid_input` names every bad field. */
  async setRules(input: RuleSettingsInput, ctx: CommandContext): Promise<RuleConfiguration> {
    const event = fleetEvent('AlertRulesChanged', {
      rules: input.rules,
      ...(input.host_overrides !== undefined ? { host_overrides: input.host_overrides } : {}),
      changed_at: new Date(this.timer.now()).toISOString(),
    });
    await this.append(ALERT_RULES_STREAM, event, ctx, 'any');
    this.evaluateSoon();
    return this.ruleConfiguration();
  }

  /**
   * Creates a channel (no `channelId`) or replaces one, sealing its secrets
   * with the control plane's key; a secret left out of `settings` keeps its
   * stored value. Returns the channel's id. `invalid_input` names bad settings.
   */
  async configureChannel(
    input: ChannelInput,
    ctx: CommandContext,
    channelId?: string,
  ): Promise<{ id: string }> {
    const previous =
      channelId === undefined ? undefined : this.followed.state.planner.channels.get(channelId);
    if (channelId !== undefined && previous === undefined)
      throw new AppError('not_found', `notification channel ${channelId} does not exist`);
    const id = channelId ?? randomUUID();
    let settings;
    try {
      settings = sealChannelSettings(
        input.kind,
        input.settings,
        this.box,
        previous?.kind === input.kind ? previous.settings : undefined,
      );
    } catch (err) {
      // Named as in the request body (`settings.url`), like every other field of it.
      if (err instanceof ChannelSettingsError) throw invalidInput(err.issues);
      throw err;
    }
    const event = fleetEvent('ChannelConfigured', {
      channel_id: id,
      kind: input.kind,
      name: input.name,
      settings,
      ...(input.routing !== undefined ? { routing: input.routing } : {}),
      configured_at: new Date(this.timer.now()).toISOString(),
    });
    await this.append(channelStream(id), event, ctx, 'any');
    return { id };
  }

  /** Removes a channel: nothing more is sent through it. `not_found` when it is not configured. */
  async removeChannel(channelId: string, ctx: CommandContext): Promise<void> {
    if (!this.followed.state.planner.channels.has(channelId))
      throw new AppError('not_found', `notification channel ${channelId} does not exist`);
    const event = fleetEvent('ChannelRemoved', {
      channel_id: channelId,
      removed_at: new Date(this.timer.now()).toISOString(),
    });
    await this.append(channelStream(channelId), event, ctx, 'any');
  }

  /** "Send test": one test notice now, unrecorded. `not_found` for an unknown channel; a refusal is an answer, not a throw. */
  async sendTest(channelId: string): Promise<SendTestResult> {
    const notifier = this.notifier;
    if (notifier === undefined) throw new AppError('unavailable', 'the notifier is not running yet');
    if (!this.followed.state.planner.channels.has(channelId))
      throw new AppError('not_found', `notification channel ${channelId} does not exist`);
    try {
      await notifier.sendTest(channelId);
      this.countNotification(1, {
        kind: this.followed.state.planner.channels.get(channelId)?.kind ?? 'unknown',
        result: 'test_sent',
      });
      return { delivered: true };
    } catch (err) {
      if (err instanceof DeliveryError) return { delivered: false, code: err.code, error: err.message };
      throw err;
    }
  }

  /** Runs one evaluation round now and waits for its decisions to be in the state (tests and the timer). */
  async evaluate(): Promise<void> {
    if (this.evaluating !== undefined) {
      this.evaluateAgain = true;
      return this.evaluating;
    }
    this.evaluating = this.rounds().finally(() => {
      this.evaluating = undefined;
    });
    return this.evaluating;
  }

  /** How far the alerts state is behind the log, and how many events it applied since this start. */
  lag(): Promise<LogConsumerLag> {
    return this.followed.log.lag();
  }

  /** Resolves once nothing is being delivered (tests). */
  async deliveriesIdle(): Promise<void> {
    await this.notifier?.idle();
  }

  private async rounds(): Promise<void> {
    do {
      this.evaluateAgain = false;
      if (this.stopped || this.process === undefined) return;
      let last: Position | undefined;
      for (const d of this.process.evaluate(new Date(this.timer.now()))) {
        const at = await this.appendDecision(d);
        if (at !== undefined) last = at;
      }
      if (last !== undefined) await this.waitForState(last);
    } while (this.evaluateAgain);
  }

  private async appendDecision(d: AlertDecision): Promise<Position | undefined> {
    const alertId = d.event.data.alert_id;
    const expected: ExpectedRevision =
      d.event.type === 'AlertRaised' ? 'no_stream' : (this.followed.state.revisions.get(alertId) ?? 'any');
    try {
      const r = await this.writer.append(d.stream, [d.event], this.systemContext(d.eventId), {
        ids: [d.eventId],
        expectedRevision: expected,
        waitForState: false,
      });
      return r.position;
    } catch (err) {
      if (isEventStoreError(err, 'WrongExpectedVersion')) {
        // Someone else (an acknowledgement, another node) wrote first: decide again once that is applied.
        await this.syncWith(d.stream);
        this.evaluateAgain = true;
        return undefined;
      }
      this.logger.warn(
        { err, alertId, type: d.event.type },
        'an alert decision could not be appended; the next round tries again',
      );
      return undefined;
    }
  }

  private recordLog(): DeliveryRecordLog {
    return {
      append: async (stream, records) => {
        await this.writer.append(
          stream,
          records.map((r) => r.event),
          this.systemContext(records[0]?.id ?? randomUUID()),
          { ids: records.map((r) => r.id), waitForState: false },
        );
      },
    };
  }

  private async append(
    stream: string,
    event: FleetEvent,
    ctx: CommandContext,
    expectedRevision: ExpectedRevision,
  ): Promise<void> {
    let position: Position;
    try {
      position = (await this.writer.append(stream, [event], ctx, { expectedRevision, waitForState: false }))
        .position;
    } catch (err) {
      if (isCatalogError(err)) throw invalidInput(err.issues, 'data.');
      throw err;
    }
    await this.waitForState(position);
  }

  private async waitForState(position: Position): Promise<void> {
    try {
      await this.followed.waitFor(position, OWN_WRITE_TIMEOUT_MS);
    } catch (err) {
      if (!isLogConsumerError(err, 'Stopped')) throw err;
    }
  }

  /** Waits until the state has applied the last event of `stream`. */
  private async syncWith(stream: string): Promise<void> {
    try {
      for await (const e of this.store.readStream(stream, {
        direction: 'backwards',
        fromRevision: 'end',
        maxCount: 1,
      }))
        await this.waitForState(e.position);
    } catch (err) {
      if (!isEventStoreError(err, 'StreamNotFound')) throw err;
    }
  }

  private async streamExists(stream: string): Promise<boolean> {
    try {
      for await (const _e of this.store.readStream(stream, { maxCount: 1 })) return true;
      return false;
    } catch (err) {
      if (isEventStoreError(err, 'StreamNotFound')) return false;
      throw err;
    }
  }

  private systemContext(causationId: string): CommandContext {
    return { actor: ALERTS_CONTEXT_ACTOR, correlationId: randomUUID(), causationId };
  }

  private afterBatch(batch: LogBatch): void {
    if (this.notifier === undefined || this.stopped || batch.events.length === 0) return;
    this.notifier.wake();
    this.evaluateSoon();
  }

  private evaluateSoon(): void {
    if (this.soon !== undefined || this.stopped) return;
    this.soon = this.timer.setTimeout(() => {
      this.soon = undefined;
      this.evaluate().catch((err: unknown) => this.logger.warn({ err }, 'an alert evaluation round failed'));
    }, EVALUATE_AFTER_EVENTS_MS);
  }

  private armTick(): void {
    if (this.stopped) return;
    this.tick = this.timer.setTimeout(() => {
      this.tick = undefined;
      this.evaluate()
        .catch((err: unknown) => this.logger.warn({ err }, 'an alert evaluation round failed'))
        .finally(() => this.armTick());
    }, this.config.alertsEvaluateMs);
  }

  private outcome(o: DeliveryOutcome): void {
    this.countNotification(1, { kind: o.channel.kind, result: o.result });
    if (o.result !== 'sent')
      this.logger.warn(
        {
          channel: o.channel.id,
          delivery: o.delivery.deliveryId,
          attempt: o.delivery.attempt,
          code: o.error?.code,
        },
        `notification ${o.result === 'failed' ? 'failed, will retry' : 'given up'}: ${o.error?.message ?? ''}`,
      );
  }

  private openAlertCounts(): Array<{ labels: { rule: string; severity: string }; value: number }> {
    const counts = new Map<string, { labels: { rule: string; severity: string }; value: number }>();
    for (const a of this.followed.state.watch.openAlerts()) {
      const key = `${a.rule} ${a.severity}`;
      const row = counts.get(key);
      if (row) row.value++;
      else counts.set(key, { labels: { rule: a.rule, severity: a.severity }, value: 1 });
    }
    return [...counts.values()];
  }
}
