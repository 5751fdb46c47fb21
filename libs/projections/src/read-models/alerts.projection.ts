import {
  defineProjection,
  streamsExcept,
  type KeyedTable,
  type ProjectionEvent,
  type ProjectionView,
} from '../engine/projection.definition';
import { actorOf, json, payload, timeField } from './event-fields';

/** One alert with its whole life: raised, acknowledged (by whom, why), resolved (docs/alerts.md). */
export type AlertRow = {
  readonly id: string;
  readonly rule: string;
  readonly severity: string;
  readonly subject: string;
  /** `open`, `acknowledged` or `resolved`. */
  readonly state: string;
  readonly host_id: string | null;
  readonly hostname: string | null;
  readonly repository_id: string | null;
  readonly job_id: string | null;
  readonly schedule_id: string | null;
  readonly summary: string;
  /** JSON object of the rule's facts. */
  readonly details: string;
  readonly raised_at: string;
  readonly acknowledged_at: string | null;
  /** The user id that acknowledged it, and the name it had then (from the event's actor). */
  readonly acknowledged_by: string | null;
  readonly acknowledged_by_name: string | null;
  readonly ack_note: string | null;
  readonly resolved_at: string | null;
  readonly resolution: string | null;
};

type AlertsTables = { readonly alerts: KeyedTable<AlertRow, 'id'> };
type View = ProjectionView<AlertsTables>;
type Of<T extends ProjectionEvent['type']> = Extract<ProjectionEvent, { type: T }>;

function raised(view: View, e: Of<'AlertRaised'>): void {
  const d = e.data;
  // The store makes a repeated AlertRaised (same id) a no-op; a replay of one must be too.
  if (view.get('alerts', { id: d.alert_id }) !== undefined) return;
  view.put('alerts', {
    id: d.alert_id,
    rule: d.rule,
    severity: d.severity,
    subject: d.subject,
    state: 'open',
    host_id: d.host_id ?? null,
    hostname: d.hostname ?? null,
    repository_id: d.repository_id ?? null,
    job_id: d.job_id ?? null,
    schedule_id: d.schedule_id ?? null,
    summary: d.summary,
    details: json(d.details) ?? '{}',
    raised_at: timeField(payload(e), 'raised_at', e),
    acknowledged_at: null,
    acknowledged_by: null,
    acknowledged_by_name: null,
    ack_note: null,
    resolved_at: null,
    resolution: null,
  });
}

function acknowledged(view: View, e: Of<'AlertAcknowledged'>): void {
  const row = view.get('alerts', { id: e.data.alert_id });
  // The first acknowledgement is the one that counts (it stopped the reminders).
  if (row === undefined || row.acknowledged_at !== null) return;
  const actor = actorOf(e);
  view.put('alerts', {
    ...row,
    state: row.state === 'open' ? 'acknowledged' : row.state,
    acknowledged_at: timeField(payload(e), 'acknowledged_at', e),
    acknowledged_by: e.data.by,
    acknowledged_by_name: actor !== null && actor.id === e.data.by ? actor.name : null,
    ack_note: e.data.note ?? null,
  });
}

function resolved(view: View, e: Of<'AlertResolved'>): void {
  const row = view.get('alerts', { id: e.data.alert_id });
  if (row === undefined || row.state === 'resolved') return;
  view.put('alerts', {
    ...row,
    state: 'resolved',
    resolved_at: timeField(payload(e), 'resolved_at', e),
    resolution: e.data.reason,
  });
}

/** Alerts, open and past (docs/alerts.md): what the Alerts page, the top bar and GET /api/alerts read. */
export const alertsProjection = defineProjection<AlertsTables>({
  name: 'alerts',
  version: 1,
  streams: streamsExcept('joblog'),
  tables: {
    alerts: {
      kind: 'keyed',
      key: ['id'],
      columns: {
        id: 'TEXT PRIMARY KEY',
        rule: 'TEXT NOT NULL',
        severity: 'TEXT NOT NULL',
        subject: 'TEXT NOT NULL',
        state: 'TEXT NOT NULL',
        host_id: 'TEXT',
        hostname: 'TEXT',
        repository_id: 'TEXT',
        job_id: 'TEXT',
        schedule_id: 'TEXT',
        summary: 'TEXT NOT NULL',
        details: 'TEXT NOT NULL',
        raised_at: 'TEXT NOT NULL',
        acknowledged_at: 'TEXT',
        acknowledged_by: 'TEXT',
        acknowledged_by_name: 'TEXT',
        ack_note: 'TEXT',
        resolved_at: 'TEXT',
        resolution: 'TEXT',
      },
    },
  },
  indexes: [
    { name: 'alerts_by_state', table: 'alerts', columns: 'state, raised_at DESC' },
    { name: 'alerts_by_host', table: 'alerts', columns: 'host_id, raised_at DESC' },
    { name: 'alerts_by_raised', table: 'alerts', columns: 'raised_at DESC' },
  ],
  evolve(view, event) {
    switch (event.type) {
      case 'AlertRaised':
        return raised(view, event);
      case 'AlertAcknowledged':
        return acknowledged(view, event);
      case 'AlertResolved':
        return resolved(view, event);
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
      case 'AlertRulesChanged':
      case 'ChannelConfigured':
      case 'ChannelRemoved':
      case 'NotificationSent':
      case 'NotificationFailed':
        return;
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
});
