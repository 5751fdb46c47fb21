import { legacyRepositoryId } from './event-ids';
import {
  type EncryptedSecret,
  type FleetEvent,
  fleetEvent,
  type FleetEventDataMap,
  type RepositoryScheduleListFields,
} from './events';

/*
 * The repository aggregate as a pure fold (docs/repositories.md). Events of
 * `repository-{id}` streams apply as they are; a host's `RepositoryConfigured`
 * history (written before repositories were first-class) applies as the
 * events it stands for — a repository named after the host, attached to it,
 * whose id is derived from the host id — so no stored event is rewritten and
 * every reader (projections, the control plane) agrees on the result.
 */

export interface RepositorySecrets {
  readonly password: EncryptedSecret;
  readonly username?: string;
  readonly credential?: EncryptedSecret;
}

export interface RepositoryState {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly secrets?: RepositorySecrets;
  /** Attached hosts, in the order they were attached. */
  readonly host_ids: readonly string[];
  /** Set for the repository a host's RepositoryConfigured history stands for. */
  readonly legacy_host_id?: string;
  readonly schedules?: RepositoryScheduleListFields;
}

export interface RepositoriesState {
  /** Registered, not removed. */
  readonly repositories: ReadonlyMap<string, RepositoryState>;
  /** Hostnames from HostEnrolled/AgentConnected: a legacy repository is named after its host. */
  readonly hostnames: ReadonlyMap<string, string>;
}

export const EMPTY_REPOSITORIES_STATE: RepositoriesState = {
  repositories: new Map(),
  hostnames: new Map(),
};

type RepositoryEvent = Extract<
  FleetEvent,
  {
    type:
      | 'RepositoryRegistered'
      | 'RepositoryChanged'
      | 'RepositorySecretsSet'
      | 'RepositoryAttached'
      | 'RepositoryDetached'
      | 'RepositoryRemoved'
      | 'RepositorySchedulesChanged';
  }
>;

/**
 * The repository events a host's `RepositoryConfigured` stands for, given the
 * current state: the first one registers the repository (named after the
 * host, `hostname` falling back to the host id), later ones change its URL;
 * each sets the secrets and (re)attaches the host.
 */
export function repositoryEventsForConfigured(
  state: RepositoriesState,
  data: FleetEventDataMap['RepositoryConfigured'],
): RepositoryEvent[] {
  const repository_id = legacyRepositoryId(data.host_id);
  const current = state.repositories.get(repository_id);
  const out: RepositoryEvent[] = [];
  if (!current) {
    const name = state.hostnames.get(data.host_id) ?? data.host_id;
    out.push(fleetEvent('RepositoryRegistered', { repository_id, name, url: data.url }));
  } else if (current.url !== data.url) {
    out.push(fleetEvent('RepositoryChanged', { repository_id, name: current.name, url: data.url }));
  }
  out.push(
    fleetEvent('RepositorySecretsSet', {
      repository_id,
      password: data.password,
      ...(data.username !== undefined ? { username: data.username } : {}),
      ...(data.credential !== undefined ? { credential: data.credential } : {}),
    }),
  );
  if (!current?.host_ids.includes(data.host_id))
    out.push(fleetEvent('RepositoryAttached', { repository_id, host_id: data.host_id }));
  return out;
}

function withRepository(state: RepositoriesState, repo: RepositoryState): RepositoriesState {
  const repositories = new Map(state.repositories);
  repositories.set(repo.id, repo);
  return { ...state, repositories };
}

function applyRepositoryEvent(
  state: RepositoriesState,
  event: RepositoryEvent,
  legacyHostId?: string,
): RepositoriesState {
  const id = event.data.repository_id;
  const current = state.repositories.get(id);
  switch (event.type) {
    case 'RepositoryRegistered':
      // A second registration of a live repository restates name and URL; attachments stay.
      return withRepository(state, {
        ...(current ?? { id, host_ids: [] }),
        id,
        name: event.data.name,
        url: event.data.url,
        ...(legacyHostId !== undefined ? { legacy_host_id: legacyHostId } : {}),
      });
    case 'RepositoryChanged':
      return current
        ? withRepository(state, { ...current, name: event.data.name, url: event.data.url })
        : state;
    case 'RepositorySecretsSet': {
      if (!current) return state;
      const { repository_id: _id, ...secrets } = event.data;
      return withRepository(state, { ...current, secrets });
    }
    case 'RepositoryAttached':
      return current && !current.host_ids.includes(event.data.host_id)
        ? withRepository(state, { ...current, host_ids: [...current.host_ids, event.data.host_id] })
        : state;
    case 'RepositoryDetached':
      return current?.host_ids.includes(event.data.host_id)
        ? withRepository(state, {
            ...current,
            host_ids: current.host_ids.filter((h) => h !== event.data.host_id),
          })
        : state;
    case 'RepositoryRemoved': {
      if (!current) return state;
      const repositories = new Map(state.repositories);
      repositories.delete(id);
      return { ...state, repositories };
    }
    case 'RepositorySchedulesChanged': {
      if (!current) return state;
      const { repository_id: _id, ...schedules } = event.data;
      return withRepository(state, { ...current, schedules });
    }
    default: {
      const exhaustive: never = event;
      return exhaustive;
    }
  }
}

function detachEverywhere(state: RepositoriesState, hostId: string): RepositoriesState {
  let next = state;
  for (const repo of state.repositories.values()) {
    if (repo.host_ids.includes(hostId))
      next = applyRepositoryEvent(
        next,
        fleetEvent('RepositoryDetached', { repository_id: repo.id, host_id: hostId }),
      );
  }
  return next;
}

/**
 * Folds one event into the repositories' state. Pure: the same events in the
 * same order always give the same state (rebuilds agree with live folds).
 * A revoked host is detached from every repository.
 */
export function evolveRepositories(state: RepositoriesState, event: FleetEvent): RepositoriesState {
  switch (event.type) {
    case 'RepositoryRegistered':
    case 'RepositoryChanged':
    case 'RepositorySecretsSet':
    case 'RepositoryAttached':
    case 'RepositoryDetached':
    case 'RepositoryRemoved':
    case 'RepositorySchedulesChanged':
      return applyRepositoryEvent(state, event);
    case 'RepositoryConfigured': {
      let next = state;
      for (const e of repositoryEventsForConfigured(state, event.data))
        next = applyRepositoryEvent(next, e, event.data.host_id);
      return next;
    }
    case 'HostEnrolled':
    case 'AgentConnected': {
      // The first name a host is known by names its legacy repository; later renames do not rename it.
      if (state.hostnames.has(event.data.host_id)) return state;
      const hostnames = new Map(state.hostnames);
      hostnames.set(event.data.host_id, event.data.hostname);
      return { ...state, hostnames };
    }
    case 'HostRevoked':
      return detachEverywhere(state, event.data.host_id);
    default:
      return state;
  }
}

/** The repositories a host is attached to, in registration order. */
export function repositoriesOfHost(state: RepositoriesState, hostId: string): RepositoryState[] {
  return [...state.repositories.values()].filter((r) => r.host_ids.includes(hostId));
}
