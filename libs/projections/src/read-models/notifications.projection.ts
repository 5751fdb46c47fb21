import { maskChannelSettings } from '@rf/alerts';
import {
  defineProjection,
  streamsExcept,
  type KeyedTable,
  type ProjectionEvent,
  type ProjectionView,
} from '../engine/projection.definition';
import { json, payload, timeField } from './event-fields';

/** A notification channel as users see it: secrets only as `{set}` (docs/alerts.md, "Channels"). */
export type NotificationChannelRow = {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  /** JSON of the masked settings: plain fields as stored, every secret as `{"set":true|false}`. */
  readonly settings: string;
  /** JSON of the routing, or null (every alert). */
  readonly routing: string | null;
  readonly created_at: string;
  readonly configured_at: string;
};

/** The latest state of one notification (alert or job × transition × channel): sent, or failed with its error. */
export type NotificationDeliveryRow = {
  readonly delivery_id: string;
  readonly channel_id: string;
  readonly alert_id: string | null;
  readonly job_id: string | null;
  readonly transition: string;
  readonly reminder: number | null;
  readonly attempt: number;
  /** `sent`, `retrying` (failed, another attempt is due) or `failed` (given up). */
  readonly result: string;
  readonly error: string | null;
  readonly retry_at: string | null;
  readonly at: string;
};

type NotificationsTables = {
  readonly notification_channels: KeyedTable<NotificationChannelRow, 'id'>;
  readonly notification_deliveries: KeyedTable<NotificationDeliveryRow, 'delivery_id'>;
};
type View = ProjectionView<NotificationsTables>;
type Of<T extends ProjectionEvent['type']> = Extract<ProjectionEvent, { type: T }>;

function configured(view: View, e: Of<'ChannelConfigured'>): void {
  const d = e.data;
  const at = timeField(payload(e), 'configured_at', e);
  const old = view.get('notification_channels', { id: d.channel_id });
  view.put('notification_channels', {
    id: d.channel_id,
    kind: d.kind,
    name: d.name,
    settings: JSON.stringify(maskChannelSettings(d.kind, d.settings)),
    routing: json(d.routing),
    created_at: old?.created_at ?? at,
    configured_at: at,
  });
}

/**
 * A delivery's row follows its attempts; an older attempt (or a repeat of the
 * one stored) changes nothing, and once sent it stays sent.
 */
function delivery(view: View, e: Of<'NotificationSent'> | Of<'NotificationFailed'>): void {
  const d = e.data;
  const old = view.get('notification_deliveries', { delivery_id: d.delivery_id });
  if (old !== undefined && (old.result === 'sent' || old.attempt > d.attempt)) return;
  if (old !== undefined && old.attempt === d.attempt && e.type === 'NotificationFailed') return;
  const base = {
    delivery_id: d.delivery_id,
    channel_id: d.channel_id,
    alert_id: d.alert_id ?? null,
    job_id: d.job_id ?? null,
    transition: d.transition,
    reminder: d.reminder ?? null,
    attempt: d.attempt,
  };
  if (e.type === 'NotificationSent') {
    view.put('notification_deliveries', {
      ...base,
      result: 'sent',
      error: null,
      retry_at: null,
      at: timeField(payload(e), 'sent_at', e),
    });
    return;
  }
  view.put('notification_deliveries', {
    ...base,
    result: e.data.retry_at !== undefined ? 'retrying' : 'failed',
    error: e.data.error,
    retry_at: e.data.retry_at ?? null,
    at: timeField(payload(e), 'failed_at', e),
  });
}

/** Notification channels (masked) and the latest state of every delivery (docs/alerts.md). */
export const notificationsProjection = defineProjection<NotificationsTables>({
  name: 'notifications',
  version: 1,
  streams: streamsExcept('joblog'),
  tables: {
    notification_channels: {
      kind: 'keyed',
      key: ['id'],
      columns: {
        id: 'TEXT PRIMARY KEY',
        kind: 'TEXT NOT NULL',
        name: 'TEXT NOT NULL',
        settings: 'TEXT NOT NULL',
        routing: 'TEXT',
        created_at: 'TEXT NOT NULL',
        configured_at: 'TEXT NOT NULL',
      },
    },
    notification_deliveries: {
      kind: 'keyed',
      key: ['delivery_id'],
      columns: {
        delivery_id: 'TEXT PRIMARY KEY',
        channel_id: 'TEXT NOT NULL',
        alert_id: 'TEXT',
        job_id: 'TEXT',
        transition: 'TEXT NOT NULL',
        reminder: 'INTEGER',
        attempt: 'INTEGER NOT NULL',
        result: 'TEXT NOT NULL',
        error: 'TEXT',
        retry_at: 'TEXT',
        at: 'TEXT NOT NULL',
      },
    },
  },
  indexes: [
    { name: 'notification_channels_by_name', table: 'notification_channels', columns: 'name, id' },
    {
      name: 'notification_deliveries_by_channel',
      table: 'notification_deliveries',
      columns: 'channel_id, at DESC',
    },
  ],
  evolve(view, event) {
    switch (event.type) {
      case 'ChannelConfigured':
        return configured(view, event);
      case 'ChannelRemoved':
        return view.delete('notification_channels', { id: event.data.channel_id });
      case 'NotificationSent':
      case 'NotificationFailed':
        return delivery(view, event);
      case 'HostEnrolled':
      case 'HostRevoked':
      case 'AgentConnected':
      case 'AgentDisconnected':
      case 'RepositoryConfigured':
      case 'RepositoryRegistered':
      case 'RepositoryChanged':
      case 'RepositorySecretsSet':
      case 'RepositoryAttached':
      case 'RepositoryDetached':
      case 'RepositoryRemoved':
      case 'RepositorySchedulesChanged':
      case 'JobRequested':
      case 'JobDispatched':
      case 'JobAccepted':
      case 'JobRejected':
      case 'JobStarted':
      case 'JobCancelRequested':
      case 'JobFinished':
      case 'JobLost':
      case 'JobProgress':
      case 'LogStreamLine':
      case 'LogLinesDropped':
      case 'SchedulesChanged':
      case 'SchedulesApplied':
      case 'ScheduleFired':
      case 'SnapshotsReported':
      case 'SnapshotDownloaded':
      case 'RepoStatsReported':
      case 'AgentUpdateRequested':
      case 'UserCreated':
      case 'UserPasswordChanged':
      case 'UserRoleChanged':
      case 'UserDisabled':
      case 'UserEnabled':
      case 'UserLoggedIn':
      case 'UserLoggedOut':
      case 'UserLoginFailed':
      case 'ApiTokenCreated':
      case 'ApiTokenRevoked':
      case 'EnrolmentTokenCreated':
      case 'EnrolmentTokenUsed':
      case 'EnrolmentTokenRevoked':
      case 'AlertRaised':
      case 'AlertAcknowledged':
      case 'AlertResolved':
      case 'AlertRulesChanged':
        return;
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
});
