import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  ChannelSender,
  ChannelSettingsError,
  DeliveryError,
  openChannel,
  sealChannelSettings,
  testNotice,
  type Notice,
  type SecretSealer,
} from '@rf/alerts';
import { EVENT_STORE, isEventStoreError, type EventStore } from '@rf/event-store';
import {
  ALERT_RULES_STREAM,
  alertRuleSettingsIssues,
  alertStream,
  channelStream,
  fromRecorded,
  hostOverridesIssues,
  type AlertRuleSettings,
  type FleetEventDataMap,
  CHANNEL_KINDS,
  checkClass,
  ChannelRouting,
  isChannelKind,
  type ChannelKind,
  type FieldIssue,
} from '@rf/events';
import { AppError } from '../core/app-error';
import type { CommandContext } from '../core/command-context';
import { SecretBox } from '../core/secret-box';
import { FleetEventWriter } from './fleet-event.writer';

/** The rule settings as stored: every field absent falls back (docs/alerts.md, "Settings"). */
export interface AlertRulesConfiguration {
  readonly rules: AlertRuleSettings;
  readonly host_overrides: Readonly<Record<string, AlertRuleSettings>>;
}

/** A channel as an operator enters it (API or form); checked field by field here, so both get the same errors. */
export interface ChannelInput {
  readonly kind: string;
  readonly name: string;
  /** As the operator typed them; secrets left out on an edit keep their stored value. */
  readonly settings: unknown;
  readonly routing?: unknown;
}

/** The input's kind, name and routing checked; every problem named by its field. */
function checkChannel(input: ChannelInput): {
  kind: ChannelKind;
  routing: ChannelRouting | undefined;
  issues: FieldIssue[];
} {
  const issues: FieldIssue[] = [];
  const kind = isChannelKind(input.kind) ? input.kind : null;
  if (kind === null)
    issues.push({ field: 'kind', message: `kind must be one of: ${CHANNEL_KINDS.join(', ')}` });
  const name = input.name.trim();
  if (name === '' || name.length > 128)
    issues.push({ field: 'name', message: 'name must be 1-128 characters' });
  let routing: ChannelRouting | undefined;
  if (input.routing !== undefined) {
    const checked = checkClass(ChannelRouting, { ...(input.routing as object) }, 'routing');
    if (checked.ok) routing = routingOf(checked.value);
    else issues.push(...checked.issues);
  }
  return { kind: kind ?? 'webhook', routing, issues };
}

type StoredFleetEvent = ReturnType<typeof fromRecorded>;
type ChannelConfiguredData = FleetEventDataMap['ChannelConfigured'];

interface StoredChannel {
  readonly data: ChannelConfiguredData;
  readonly revision: number;
}

const fieldsOf = (issues: readonly FieldIssue[]): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const i of issues) (out[i.field] ??= []).push(i.message);
  return out;
};

const invalid = (issues: readonly FieldIssue[]): AppError =>
  new AppError('invalid_input', issues.map((i) => i.message).join('; '), {
    ...(issues[0] ? { field: issues[0].field } : {}),
    fields: fieldsOf(issues),
  });

/** Routing as the event stores it: only the fields that were set. */
const routingOf = (r: ChannelRouting | undefined): ChannelRouting | undefined => {
  if (r === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
  return out as ChannelRouting;
};

/**
 * The operator's side of alerts (docs/alerts.md): acknowledging an alert,
 * the rule settings, notification channels (secrets sealed with the control
 * plane's key before they reach the log) and "Send test". Every change is an
 * event appended through FleetEventWriter, so it is in the audit trail.
 */
@Injectable()
export class AlertCommandsService {
  private readonly sender = new ChannelSender();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly writer: FleetEventWriter,
    private readonly box: SecretBox,
  ) {}

  async acknowledge(alertId: string, note: string | undefined, ctx: CommandContext): Promise<void> {
    let raised = false;
    let acknowledgedBy: string | null = null;
    let resolved = false;
    const revision = await this.fold(alertStream(alertId), (e) => {
      if (e.type === 'AlertRaised') raised = true;
      else if (e.type === 'AlertAcknowledged') acknowledgedBy ??= e.data.by;
      else if (e.type === 'AlertResolved') resolved = true;
    });
    if (!raised) throw new AppError('not_found', `alert ${alertId} does not exist`, { field: 'id' });
    if (resolved) throw new AppError('conflict', `alert ${alertId} is resolved already`);
    if (acknowledgedBy !== null)
      throw new AppError(
        'conflict',
        `alert ${alertId} was acknowledged already by ${String(acknowledgedBy)}`,
      );
    await this.writer.append(
      alertStream(alertId),
      [
        {
          type: 'AlertAcknowledged',
          data: {
            alert_id: alertId,
            by: ctx.actor.id,
            ...(note !== undefined && note !== '' ? { note } : {}),
            acknowledged_at: new Date().toISOString(),
          },
        },
      ],
      ctx,
      { expectedRevision: revision ?? 'no_stream' },
    );
  }

  /** The current rule settings; nothing stored yet means every rule at its defaults. */
  async rules(): Promise<AlertRulesConfiguration> {
    let config: AlertRulesConfiguration = { rules: {}, host_overrides: {} };
    await this.fold(
      ALERT_RULES_STREAM,
      (e) => {
        if (e.type === 'AlertRulesChanged')
          config = { rules: e.data.rules, host_overrides: e.data.host_overrides ?? {} };
      },
      { direction: 'backwards', maxCount: 1 },
    );
    return config;
  }

  /** Replaces the whole configuration; each field is checked with the catalog's rules and named when wrong. */
  async setRules(
    input: { readonly rules: unknown; readonly host_overrides?: unknown },
    ctx: CommandContext,
  ): Promise<AlertRulesConfiguration> {
    const issues = [
      ...alertRuleSettingsIssues(input.rules, 'rules'),
      ...(input.host_overrides === undefined
        ? []
        : hostOverridesIssues(input.host_overrides, 'host_overrides')),
    ];
    if (issues.length > 0) throw invalid(issues);
    const rules = input.rules as AlertRuleSettings;
    const overrides = (input.host_overrides ?? {}) as Readonly<Record<string, AlertRuleSettings>>;
    await this.writer.append(
      ALERT_RULES_STREAM,
      [
        {
          type: 'AlertRulesChanged',
          data: {
            rules,
            ...(Object.keys(overrides).length > 0 ? { host_overrides: overrides } : {}),
            changed_at: new Date().toISOString(),
          },
        },
      ],
      ctx,
    );
    return { rules, host_overrides: overrides };
  }

  async createChannel(input: ChannelInput, ctx: CommandContext): Promise<{ id: string }> {
    const id = randomUUID();
    await this.configure(id, input, undefined, 'no_stream', ctx);
    return { id };
  }

  async updateChannel(id: string, input: ChannelInput, ctx: CommandContext): Promise<void> {
    const stored = await this.requireChannel(id);
    // Secrets carry over only within the same kind: a webhook's secret means nothing to an e-mail channel.
    const previous = stored.data.kind === input.kind ? stored.data.settings : undefined;
    await this.configure(id, input, previous, stored.revision, ctx);
  }

  async removeChannel(id: string, ctx: CommandContext): Promise<void> {
    const stored = await this.requireChannel(id);
    await this.writer.append(
      channelStream(id),
      [{ type: 'ChannelRemoved', data: { channel_id: id, removed_at: new Date().toISOString() } }],
      ctx,
      { expectedRevision: stored.revision },
    );
  }

  /**
   * Sends a test notice through the channel now (a healthchecks channel gets a
   * `/log` ping, which changes no state). Throws `delivery_failed` with the
   * receiver's answer, naming it by host and port only.
   */
  async testChannel(id: string): Promise<{ delivered: true }> {
    const stored = await this.requireChannel(id);
    const now = new Date();
    const deliveryId = randomUUID();
    const notice: Notice =
      stored.data.kind === 'healthchecks'
        ? {
            type: 'ping',
            transition: 'log',
            deliveryId,
            jobId: 'test',
            detail: 'test from restic-fleet: the channel works',
            sentAt: now,
          }
        : testNotice(deliveryId, now);
    try {
      const opened = openChannel(stored.data.kind, stored.data.settings, this.sealer());
      await this.sender.send(opened, notice);
    } catch (err) {
      if (err instanceof DeliveryError || err instanceof ChannelSettingsError)
        throw new AppError('delivery_failed', err.message);
      throw err;
    }
    return { delivered: true };
  }

  private async configure(
    id: string,
    input: ChannelInput,
    previous: ChannelConfiguredData['settings'] | undefined,
    expectedRevision: number | 'no_stream',
    ctx: CommandContext,
  ): Promise<void> {
    const { kind, routing, issues } = checkChannel(input);
    let settings: ChannelConfiguredData['settings'] = {};
    try {
      settings = sealChannelSettings(kind, input.settings, this.sealer(), previous);
    } catch (err) {
      if (!(err instanceof ChannelSettingsError)) throw err;
      issues.push(...err.issues);
    }
    if (issues.length > 0) throw invalid(issues);
    await this.writer.append(
      channelStream(id),
      [
        {
          type: 'ChannelConfigured',
          data: {
            channel_id: id,
            kind,
            name: input.name.trim(),
            settings,
            ...(routing !== undefined ? { routing } : {}),
            configured_at: new Date().toISOString(),
          },
        },
      ],
      ctx,
      { expectedRevision },
    );
  }

  private async requireChannel(id: string): Promise<StoredChannel> {
    let data: ChannelConfiguredData | null = null;
    const revision = await this.fold(channelStream(id), (e) => {
      if (e.type === 'ChannelConfigured') data = e.data;
      else if (e.type === 'ChannelRemoved') data = null;
    });
    if (data === null || revision === null)
      throw new AppError('not_found', `notification channel ${id} does not exist`, { field: 'id' });
    return { data, revision };
  }

  private sealer(): SecretSealer {
    return { seal: (plain) => this.box.seal(plain), open: (sealed) => this.box.open(sealed) };
  }

  /** Applies a stream's events in order; the last revision read, or null when the stream does not exist. */
  private async fold(
    stream: string,
    apply: (e: StoredFleetEvent) => void,
    options: { direction?: 'backwards'; maxCount?: number } = {},
  ): Promise<number | null> {
    let revision: number | null = null;
    try {
      for await (const recorded of this.store.readStream(stream, {
        ...(options.direction ? { direction: options.direction, fromRevision: 'end' as const } : {}),
        ...(options.maxCount ? { maxCount: options.maxCount } : {}),
      })) {
        revision = Math.max(revision ?? -1, recorded.revision);
        apply(fromRecorded(recorded));
      }
    } catch (err) {
      if (!isEventStoreError(err, 'StreamNotFound')) throw err;
    }
    return revision;
  }
}
