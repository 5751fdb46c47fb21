import {
  jobArgsForSchedule,
  nameBasedUuid,
  type FieldIssue,
  type JobArgs,
  type RepositorySchedule,
} from '@rf/events';

/*
 * Rules for a repository's own schedules (docs/repositories.md, "Maintenance
 * once per repository"). Pure: the caller passes presence and history.
 */

/** The job id of one fire: the same repository, schedule and tick always give the same id. */
export function jobIdForRepositoryFire(repositoryId: string, scheduleId: string, tick: Date): string {
  return nameBasedUuid(`repository-fire/${repositoryId}/${scheduleId}/${tick.toISOString()}`);
}

export interface HostCandidate {
  readonly hostId: string;
  readonly online: boolean;
  /** Order of this schedule's latest job on the host (request position); null when it never ran there. */
  readonly lastRun: bigint | null;
}

/**
 * The host that runs a fire: an online one, the one that ran this schedule
 * least recently (never first; ties in attach order), so fires spread over
 * the attached hosts and skip a host that is away. When none is online, the
 * least recently used one: the job then waits for it to come back.
 */
export function chooseFireHost(candidates: readonly HostCandidate[]): string | undefined {
  const pick = (hosts: readonly HostCandidate[]): HostCandidate | undefined => {
    let best: HostCandidate | undefined;
    for (const h of hosts) {
      if (!best) best = h;
      else if (best.lastRun !== null && (h.lastRun === null || h.lastRun < best.lastRun)) best = h;
    }
    return best;
  };
  return (pick(candidates.filter((h) => h.online)) ?? pick(candidates))?.hostId;
}

/**
 * The job args of a repository schedule's fire. `forget` keeps its retention
 * per host and set of paths (`--group-by host,paths`, restic's default, made
 * explicit so a shared repository never applies one host's policy across
 * another's snapshots) unless the schedule says otherwise in `options.group_by`.
 */
export function argsForRepositoryFire(
  schedule: RepositorySchedule,
): { ok: true; value: JobArgs } | { ok: false; issues: FieldIssue[] } {
  const withGroups =
    schedule.kind === 'forget' && schedule.options?.group_by === undefined
      ? { ...schedule, options: { ...(schedule.options ?? {}), group_by: ['host', 'paths'] } }
      : schedule;
  return jobArgsForSchedule(withGroups);
}
