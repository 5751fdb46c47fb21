import {
  defineProjection,
  streamsExcept,
  type KeyedTable,
  type ProjectionEvent,
} from '../engine/projection.definition';
import { eventTime, fields, json, list, num, payload, str, streamEntityId, timeField } from './event-fields';

export type ScheduleSetRow = {
  readonly host_id: string;
  readonly desired_version: number | null;
  readonly desired_at: string | null;
  readonly schedules: string;
  readonly applied_version: number | null;
  readonly applied_at: string | null;
};

export type ScheduleFireRow = {
  readonly host_id: string;
  readonly schedule_id: string;
  readonly last_scheduled_at: string;
  readonly last_fired_at: string;
  readonly last_job_id: string | null;
  readonly fire_count: number;
};

type SchedulesTables = {
  readonly schedule_sets: KeyedTable<ScheduleSetRow, 'host_id'>;
  readonly schedule_fires: KeyedTable<ScheduleFireRow, 'host_id' | 'schedule_id'>;
};

const newSet = (hostId: string): ScheduleSetRow => ({
  host_id: hostId,
  desired_version: null,
  desired_at: null,
  schedules: '[]',
  applied_version: null,
  applied_at: null,
});

const hostOf = (e: ProjectionEvent): string | null =>
  streamEntityId(e.streamId, 'schedules') ?? str(fields<{ host_id: string }>(e.data), 'host_id');
const later = (a: string, b: string): string => (b > a ? b : a);

/**
 * Desired schedule set (version + full list, from SchedulesChanged) against
 * what the agent confirmed (SchedulesApplied), plus the last fire of each
 * schedule. Versions only move forward, so a late or repeated event is a no-op.
 */
export const schedulesProjection = defineProjection<SchedulesTables>({
  name: 'schedules',
  version: 1,
  streams: streamsExcept('joblog'),
  tables: {
    schedule_sets: {
      kind: 'keyed',
      key: ['host_id'],
      columns: {
        host_id: 'TEXT PRIMARY KEY',
        desired_version: 'INTEGER',
        desired_at: 'TEXT',
        schedules: "TEXT NOT NULL DEFAULT '[]'",
        applied_version: 'INTEGER',
        applied_at: 'TEXT',
      },
    },
    schedule_fires: {
      kind: 'keyed',
      key: ['host_id', 'schedule_id'],
      columns: {
        host_id: 'TEXT NOT NULL',
        schedule_id: 'TEXT NOT NULL',
        last_scheduled_at: 'TEXT NOT NULL',
        last_fired_at: 'TEXT NOT NULL',
        last_job_id: 'TEXT',
        fire_count: 'INTEGER NOT NULL',
      },
      constraints: 'PRIMARY KEY (host_id, schedule_id)',
    },
  },
  indexes: [],
  evolve(view, event) {
    switch (event.type) {
      case 'SchedulesChanged': {
        const hostId = hostOf(event);
        const d = payload(event);
        const version = num(d, 'version');
        if (hostId === null || version === null) return;
        const set = view.get('schedule_sets', { host_id: hostId }) ?? newSet(hostId);
        if (set.desired_version !== null && version <= set.desired_version) return;
        return view.put('schedule_sets', {
          ...set,
          desired_version: version,
          desired_at: eventTime(event),
          schedules: json(list(d, 'schedules')) ?? '[]',
        });
      }
      case 'SchedulesApplied': {
        const hostId = hostOf(event);
        const d = payload(event);
        const version = num(d, 'version');
        if (hostId === null || version === null) return;
        const set = view.get('schedule_sets', { host_id: hostId }) ?? newSet(hostId);
        if (set.applied_version !== null && version < set.applied_version) return;
        return view.put('schedule_sets', {
          ...set,
          applied_version: version,
          applied_at: timeField(d, 'applied_at', event),
        });
      }
      case 'ScheduleFired': {
        const hostId = hostOf(event);
        const d = payload(event);
        const scheduleId = str(d, 'schedule_id');
        if (hostId === null || scheduleId === null) return;
        const scheduledAt = timeField(d, 'scheduled_at', event);
        const firedAt = eventTime(event);
        const jobId = str(d, 'job_id');
        const fire = view.get('schedule_fires', { host_id: hostId, schedule_id: scheduleId });
        if (fire === undefined) {
          return view.put('schedule_fires', {
            host_id: hostId,
            schedule_id: scheduleId,
            last_scheduled_at: scheduledAt,
            last_fired_at: firedAt,
            last_job_id: jobId,
            fire_count: 1,
          });
        }
        return view.put('schedule_fires', {
          ...fire,
          fire_count: fire.fire_count + 1,
          last_scheduled_at: later(fire.last_scheduled_at, scheduledAt),
          last_fired_at: later(fire.last_fired_at, firedAt),
          // A late fire of an earlier tick does not name the last job.
          last_job_id: scheduledAt >= fire.last_scheduled_at ? (jobId ?? fire.last_job_id) : fire.last_job_id,
        });
      }
      case 'HostEnrolled':
      case 'AgentConnected':
      case 'AgentDisconnected':
      case 'RepositoryConfigured':
      case 'HostRevoked':
      case 'RepoStatsReported':
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
      case 'SnapshotsReported':
      case 'AgentUpdateRequested':
      case 'RepositoryRegistered':
      case 'RepositoryChanged':
      case 'RepositorySecretsSet':
      case 'RepositoryAttached':
      case 'RepositoryDetached':
      case 'RepositoryRemoved':
      case 'RepositorySchedulesChanged':
      case 'SnapshotDownloaded':
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
