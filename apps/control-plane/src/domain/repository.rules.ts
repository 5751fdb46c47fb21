import {
  jobArgsForSchedule,
  legacyRepositoryId,
  repositoriesOfHost,
  type JobArgs,
  type JobKind,
  type RepositoryState,
  type Schedule,
} from '@rf/events';
import { AppError } from '../core/app-error';
import type { FleetState, HostState, JobState } from './fleet-state';

/*
 * Rules over the repository aggregates in FleetState (docs/repositories.md):
 * which repository a job works on, which host runs a repository's job, and
 * what keeps a repository from being removed. Pure: no I/O, no clock.
 */

/** The registered (not removed) repository `id`, or not_found naming `field`. */
export function requireRepository(state: FleetState, id: string, field = 'id'): RepositoryState {
  const repo = state.repositories.repositories.get(id);
  if (!repo) throw new AppError('not_found', `repository ${id} does not exist`, { field });
  return repo;
}

/** Jobs not yet finished that work on the repository, as source or as a copy's destination. */
export function unfinishedJobsOnRepository(state: FleetState, repositoryId: string): JobState[] {
  const out: JobState[] = [];
  for (const job of state.openJobs.values()) {
    if (job.repositoryId === repositoryId || copyDestinationOf(job.kind, job.args) === repositoryId)
      out.push(job);
  }
  return out;
}

/** Host schedules that name the repository (as the one they work on or a copy's destination), as `host/schedule`. */
export function schedulesNamingRepository(
  state: FleetState,
  repositoryId: string,
  hostId?: string,
): string[] {
  const out: string[] = [];
  for (const [h, list] of state.schedules) {
    if (hostId !== undefined && h !== hostId) continue;
    for (const s of list.schedules) {
      const to = (s.options as { to_repository_id?: unknown } | undefined)?.to_repository_id;
      if (s.repository_id === repositoryId || to === repositoryId) out.push(`${h}/${s.id}`);
    }
  }
  return out;
}

function copyDestinationOf(kind: JobKind, args: JobArgs): string | undefined {
  if (kind !== 'copy') return undefined;
  const to = (args as { to_repository_id?: unknown }).to_repository_id;
  return typeof to === 'string' ? to : undefined;
}

/**
 * The repositories a host's agent can use: attached, with a password set (an
 * agent cannot open a repository without one), in registration order.
 */
export function usableRepositoriesOfHost(state: FleetState, hostId: string): RepositoryState[] {
  return repositoriesOfHost(state.repositories, hostId).filter((r) => r.secrets !== undefined);
}

/**
 * The host's default repository (config.update `repo_*`, what a job without
 * `repository_id` and an agent without the `repositories` capability use):
 * the host's own one (set with PUT /api/hosts/{id}/repository) when it can use
 * it, otherwise the first it can use.
 */
export function defaultRepositoryOfHost(state: FleetState, hostId: string): RepositoryState | undefined {
  const usable = usableRepositoriesOfHost(state, hostId);
  const own = legacyRepositoryId(hostId);
  return usable.find((r) => r.id === own) ?? usable[0];
}

/** Whether the host's agent can run a job on `repositoryId` (older agents know only their default one). */
function agentReaches(state: FleetState, host: HostState, repositoryId: string): boolean {
  if (host.capabilities === null || host.capabilities.includes('repositories')) return true;
  return defaultRepositoryOfHost(state, host.hostId)?.id === repositoryId;
}

function requireAttached(state: FleetState, host: HostState, repo: RepositoryState, field: string): void {
  if (!repo.host_ids.includes(host.hostId))
    throw new AppError(
      'conflict',
      `host ${host.hostId} is not attached to repository ${repo.id} (${repo.name}); attach it with POST /api/repositories/${repo.id}/hosts`,
      { field },
    );
  if (!agentReaches(state, host, repo.id))
    throw new AppError(
      'conflict',
      `the agent of host ${host.hostId} knows only its default repository; update the agent to run jobs on repository ${repo.id} (${repo.name})`,
      { field },
    );
}

/**
 * The repository a job of `kind` on `host` works on: `requested` when given
 * (it must exist and the host must be attached to it), else the host's only
 * repository; undefined for a host that has none (the agent answers that no
 * repository is configured, as before repositories were first-class). A copy's
 * destination must exist, differ from the source and be attached to the host
 * too, because the agent opens both.
 */
export function resolveJobRepository(
  state: FleetState,
  host: HostState,
  kind: JobKind,
  args: JobArgs,
  requested: string | undefined,
): string | undefined {
  let source: RepositoryState | undefined;
  if (requested !== undefined) {
    source = state.repositories.repositories.get(requested);
    if (!source)
      throw new AppError('invalid_input', `repository ${requested} does not exist`, {
        field: 'repository_id',
      });
    requireAttached(state, host, source, 'repository_id');
  } else {
    const attached = repositoriesOfHost(state.repositories, host.hostId);
    if (attached.length > 1)
      throw new AppError(
        'invalid_input',
        `host ${host.hostId} has ${attached.length} repositories; name one in repository_id (${attached
          .map((r) => `${r.id} ${r.name}`)
          .join(', ')})`,
        { field: 'repository_id' },
      );
    source = attached[0];
  }
  const destinationId = copyDestinationOf(kind, args);
  if (kind === 'copy') {
    if (!source)
      throw new AppError('invalid_input', `host ${host.hostId} has no repository to copy from`, {
        field: 'repository_id',
      });
    const destination = destinationId ? state.repositories.repositories.get(destinationId) : undefined;
    if (!destination)
      throw new AppError('invalid_input', `repository ${String(destinationId)} does not exist`, {
        field: 'to_repository_id',
      });
    if (destination.id === source.id)
      throw new AppError('invalid_input', 'a copy needs a destination other than its source', {
        field: 'to_repository_id',
      });
    requireAttached(state, host, destination, 'to_repository_id');
  }
  return source?.id;
}

export interface HostChoiceOptions {
  /** Whether the host's agent holds a socket now. */
  readonly isOnline: (hostId: string) => boolean;
  /** The chosen host must also be attached to this repository (a copy's destination). */
  readonly alsoAttachedTo?: string;
}

/**
 * The host that runs a job of the repository when the caller names none: an
 * attached, enrolled, not revoked, online host whose agent reaches the
 * repository (and the other one, for a copy), the one with the fewest
 * unfinished jobs so work spreads over hosts; ties go to the host attached
 * first. Null when no host qualifies.
 */
export function chooseHostForRepository(
  state: FleetState,
  repositoryId: string,
  options: HostChoiceOptions,
): string | null {
  const load = new Map<string, number>();
  for (const job of state.openJobs.values()) load.set(job.hostId, (load.get(job.hostId) ?? 0) + 1);
  let best: { hostId: string; load: number } | null = null;
  for (const hostId of hostsThatCanRun(state, repositoryId, options.alsoAttachedTo)) {
    if (!options.isOnline(hostId)) continue;
    const l = load.get(hostId) ?? 0;
    if (!best || l < best.load) best = { hostId, load: l };
  }
  return best?.hostId ?? null;
}

/**
 * The hosts that can run a job of the repository, online or not: attached,
 * enrolled, not revoked, with an agent that reaches it (and, for a copy, the
 * destination `alsoAttachedTo` as well), in attach order.
 */
export function hostsThatCanRun(state: FleetState, repositoryId: string, alsoAttachedTo?: string): string[] {
  const repo = state.repositories.repositories.get(repositoryId);
  const other =
    alsoAttachedTo !== undefined ? state.repositories.repositories.get(alsoAttachedTo) : undefined;
  if (!repo || (alsoAttachedTo !== undefined && !other)) return [];
  return repo.host_ids.filter((hostId) => {
    const host = state.hosts.get(hostId);
    if (!host || host.revision < 0 || host.revoked) return false;
    if (!agentReaches(state, host, repo.id)) return false;
    return !other || (other.host_ids.includes(hostId) && agentReaches(state, host, other.id));
  });
}

/** The repository a job works on: the one it names, else the host's own (a job from before repositories). */
export function jobRepositoryId(job: Pick<JobState, 'hostId' | 'repositoryId'>): string {
  return job.repositoryId ?? legacyRepositoryId(job.hostId);
}

/**
 * A host's schedules with the repository each works on written in: checked
 * like a job's (`resolveJobRepository`) when they are set, so a list that is
 * ambiguous or names a repository the host cannot use is refused then, not at
 * a fire; a schedule that leaves out `repository_id` on a host with one
 * repository names it from then on (attaching a second one later keeps it
 * where it was). Errors name `schedules.<i>.<field>`.
 */
export function placeSchedules(
  state: FleetState,
  host: HostState,
  schedules: readonly Schedule[],
): Schedule[] {
  return schedules.map((schedule, i) => {
    const args = jobArgsForSchedule(schedule);
    try {
      const repositoryId = resolveJobRepository(
        state,
        host,
        schedule.kind,
        args.ok ? args.value : {},
        schedule.repository_id,
      );
      return repositoryId === undefined || schedule.repository_id !== undefined
        ? schedule
        : { ...schedule, repository_id: repositoryId };
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      const field = `schedules.${i}.${err.details.field ?? 'repository_id'}`;
      throw new AppError(err.code, `schedule ${schedule.id}: ${err.message}`, { field });
    }
  });
}
