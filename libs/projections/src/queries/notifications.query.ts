import type Database from 'better-sqlite3';
import { clampLimit, n, parsed, s, type Row } from './row-values';

/** A channel as the API shows it: secrets only as `{set}`. */
export interface NotificationChannelRecord {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly routing: Readonly<Record<string, unknown>> | null;
  readonly createdAt: string;
  readonly configuredAt: string;
}

/** The latest state of one notification, with the alert it was about when there is one. */
export interface NotificationDeliveryRecord {
  readonly deliveryId: string;
  readonly channelId: string;
  readonly alertId: string | null;
  readonly jobId: string | null;
  readonly transition: string;
  readonly reminder: number | null;
  readonly attempt: number;
  readonly result: 'sent' | 'retrying' | 'failed';
  readonly error: string | null;
  readonly retryAt: string | null;
  readonly at: string;
  readonly alertSummary: string | null;
}

const object = (row: Row, key: string): Record<string, unknown> | null => {
  const v = parsed(row, key);
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
};

function toChannel(row: Row): NotificationChannelRecord {
  return {
    id: s(row, 'id') ?? '',
    kind: s(row, 'kind') ?? '',
    name: s(row, 'name') ?? '',
    settings: object(row, 'settings') ?? {},
    routing: object(row, 'routing'),
    createdAt: s(row, 'created_at') ?? '',
    configuredAt: s(row, 'configured_at') ?? '',
  };
}

const asResult = (v: string | null): NotificationDeliveryRecord['result'] =>
  v === 'retrying' || v === 'failed' ? v : 'sent';

export class NotificationsQuery {
  constructor(private readonly db: Database.Database) {}

  channels(): NotificationChannelRecord[] {
    const rows = this.db.prepare('SELECT * FROM notification_channels ORDER BY name, id').all() as Row[];
    return rows.map(toChannel);
  }

  channel(id: string): NotificationChannelRecord | null {
    const row = this.db.prepare('SELECT * FROM notification_channels WHERE id = ?').get(id) as
      Row | undefined;
    return row ? toChannel(row) : null;
  }

  /** A channel's latest deliveries, newest first. */
  deliveries(channelId: string, limit?: number): NotificationDeliveryRecord[] {
    const rows = this.db
      .prepare(
        `SELECT d.*, a.summary AS alert_summary FROM notification_deliveries d
         LEFT JOIN alerts a ON a.id = d.alert_id
         WHERE d.channel_id = ? ORDER BY d.at DESC, d.delivery_id LIMIT ?`,
      )
      .all(channelId, clampLimit(limit, 20, 500)) as Row[];
    return rows.map((row) => ({
      deliveryId: s(row, 'delivery_id') ?? '',
      channelId: s(row, 'channel_id') ?? '',
      alertId: s(row, 'alert_id'),
      jobId: s(row, 'job_id'),
      transition: s(row, 'transition') ?? '',
      reminder: n(row, 'reminder'),
      attempt: n(row, 'attempt') ?? 0,
      result: asResult(s(row, 'result')),
      error: s(row, 'error'),
      retryAt: s(row, 'retry_at'),
      at: s(row, 'at') ?? '',
      alertSummary: s(row, 'alert_summary'),
    }));
  }
}
