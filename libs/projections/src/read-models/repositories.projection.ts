import {
  type EncryptedSecret,
  evolveRepositories,
  type FleetEvent,
  legacyRepositoryId,
  type RepositoriesState,
  type RepositoryState,
} from '@rf/events';
import {
  defineProjection,
  streamsExcept,
  type KeyedTable,
  type ProjectionEvent,
  type ProjectionView,
} from '../engine/projection.definition';
import { eventTime, redactUrl } from './event-fields';

/** A repository as users see it: no secret, only whether a password is set. */
export type RepositoryRow = {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly password_set: number;
  /** The host whose RepositoryConfigured history this repository stands for (docs/repositories.md). */
  readonly legacy_host_id: string | null;
  /** JSON array of the attached host ids, in the order they were attached. */
  readonly host_ids: string;
  readonly registered_at: string;
  readonly updated_at: string;
};

/** Per host: the name its legacy repository takes, and the repositories it is attached to. */
export type RepositoryHostRow = {
  readonly host_id: string;
  readonly hostname: string | null;
  /** JSON array of repository ids. */
  readonly repository_ids: string;
};

type RepositoriesTables = {
  readonly repositories: KeyedTable<RepositoryRow, 'id'>;
  readonly repository_hosts: KeyedTable<RepositoryHostRow, 'host_id'>;
};
type View = ProjectionView<RepositoriesTables>;

const ids = (raw: string | null | undefined): string[] => {
  if (!raw) return [];
  const v: unknown = JSON.parse(raw);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
};

/**
 * Stands in for a sealed secret while the rows are folded: the read model
 * keeps no secret, only that one is set, and `evolveRepositories` only ever
 * replaces secrets whole, so this value never reaches a row.
 */
const NOT_STORED: EncryptedSecret = { alg: 'aes-256-gcm', key_id: '', iv: '', tag: '', ciphertext: '' };

function loadRepository(row: RepositoryRow): RepositoryState {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    host_ids: ids(row.host_ids),
    ...(row.password_set ? { secrets: { password: NOT_STORED } } : {}),
    ...(row.legacy_host_id !== null ? { legacy_host_id: row.legacy_host_id } : {}),
  };
}

/**
 * Applies one event to the rows it concerns through the same fold the
 * control plane uses (`evolveRepositories`, docs/repositories.md), so a
 * host's RepositoryConfigured history reads as its host-named repository here
 * exactly as everywhere else. Only the touched repositories and hosts are
 * loaded from the view into a partial state, folded, and written back.
 */
function fold(
  view: View,
  event: ProjectionEvent & FleetEvent,
  repoIds: readonly string[],
  hostIds: readonly string[],
) {
  const repoRows = new Map<string, RepositoryRow>();
  const repositories = new Map<string, RepositoryState>();
  for (const id of repoIds) {
    const row = view.get('repositories', { id });
    if (row === undefined) continue;
    repoRows.set(id, row);
    repositories.set(id, loadRepository(row));
  }
  const hostnames = new Map<string, string>();
  for (const hostId of hostIds) {
    const name = view.get('repository_hosts', { host_id: hostId })?.hostname;
    if (name) hostnames.set(hostId, name);
  }
  const before: RepositoriesState = { repositories, hostnames };
  const after = evolveRepositories(before, event);
  const at = eventTime(event);

  for (const hostId of hostIds) {
    const name = after.hostnames.get(hostId);
    if (name !== undefined && name !== hostnames.get(hostId))
      hostRow(view, hostId, (h) => ({ ...h, hostname: name }));
  }
  for (const id of repoIds) {
    const old = repoRows.get(id);
    const was = before.repositories.get(id);
    const now = after.repositories.get(id);
    if (now === undefined) {
      if (old !== undefined) view.delete('repositories', { id });
    } else {
      const next: RepositoryRow = {
        id,
        name: now.name,
        url: redactUrl(now.url),
        password_set: now.secrets !== undefined ? 1 : 0,
        legacy_host_id: now.legacy_host_id ?? null,
        host_ids: JSON.stringify(now.host_ids),
        registered_at: old?.registered_at ?? at,
        updated_at: old?.updated_at ?? at,
      };
      const changed =
        old === undefined ||
        (['name', 'url', 'password_set', 'legacy_host_id', 'host_ids'] as const).some(
          (k) => old[k] !== next[k],
        );
      if (changed) view.put('repositories', { ...next, updated_at: at });
    }
    const wasOn = new Set(was?.host_ids ?? []);
    const nowOn = new Set(now?.host_ids ?? []);
    for (const h of wasOn)
      if (!nowOn.has(h))
        hostRow(view, h, (r) => ({
          ...r,
          repository_ids: JSON.stringify(ids(r.repository_ids).filter((x) => x !== id)),
        }));
    for (const h of nowOn)
      if (!wasOn.has(h))
        hostRow(view, h, (r) => ({ ...r, repository_ids: JSON.stringify([...ids(r.repository_ids), id]) }));
  }
}

function hostRow(view: View, hostId: string, change: (row: RepositoryHostRow) => RepositoryHostRow): void {
  const row = view.get('repository_hosts', { host_id: hostId }) ?? {
    host_id: hostId,
    hostname: null,
    repository_ids: '[]',
  };
  view.put('repository_hosts', change(row));
}

/** Repositories and the hosts attached to them (docs/repositories.md); secrets are never stored here. */
export const repositoriesProjection = defineProjection<RepositoriesTables>({
  name: 'repositories',
  version: 1,
  streams: streamsExcept('joblog'),
  tables: {
    repositories: {
      kind: 'keyed',
      key: ['id'],
      columns: {
        id: 'TEXT PRIMARY KEY',
        name: 'TEXT NOT NULL',
        url: 'TEXT NOT NULL',
        password_set: 'INTEGER NOT NULL',
        legacy_host_id: 'TEXT',
        host_ids: 'TEXT NOT NULL',
        registered_at: 'TEXT NOT NULL',
        updated_at: 'TEXT NOT NULL',
      },
    },
    repository_hosts: {
      kind: 'keyed',
      key: ['host_id'],
      columns: {
        host_id: 'TEXT PRIMARY KEY',
        hostname: 'TEXT',
        repository_ids: 'TEXT NOT NULL',
      },
    },
  },
  indexes: [{ name: 'repositories_by_name', table: 'repositories', columns: 'name, id' }],
  evolve(view, event) {
    switch (event.type) {
      case 'RepositoryRegistered':
      case 'RepositoryChanged':
      case 'RepositorySecretsSet':
      case 'RepositoryAttached':
      case 'RepositoryDetached':
      case 'RepositoryRemoved':
      case 'RepositorySchedulesChanged':
      case 'SnapshotDownloaded':
        return fold(view, event, [event.data.repository_id], []);
      case 'RepositoryConfigured':
        return fold(view, event, [legacyRepositoryId(event.data.host_id)], [event.data.host_id]);
      case 'HostEnrolled':
      case 'AgentConnected':
        return fold(view, event, [], [event.data.host_id]);
      case 'HostRevoked': {
        const attached = ids(view.get('repository_hosts', { host_id: event.data.host_id })?.repository_ids);
        return fold(view, event, attached, [event.data.host_id]);
      }
      case 'AgentDisconnected':
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
