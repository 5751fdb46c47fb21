import { type JobKind, locksCompatible, type RepositoryLock, type RepositoryLockClaim } from '@rf/events';

/*
 * Fleet-wide dispatch by repository lock (docs/repositories.md, "Dispatch").
 * Pure: no I/O, no clock; the caller passes what it knows and applies the
 * decision. restic refuses a lock that conflicts with one another host holds,
 * so the control plane, which sees every host, only dispatches a job when
 * restic would grant its locks:
 * - an exclusive claim needs the repository free of every other job;
 * - a shared claim needs no exclusive holder;
 * - requests are served oldest first per repository: a job never overtakes an
 *   earlier waiting job it conflicts with (shared jobs queue behind a waiting
 *   exclusive one, an exclusive one behind everything earlier), while
 *   compatible jobs (shared after shared) go together. So neither kind starves:
 *   the oldest waiting job only ever waits for jobs already holding its
 *   repository, and those end.
 * - a job whose host is offline waits without holding anyone up.
 */

export interface CoordinatedJob {
  readonly job_id: string;
  readonly kind: JobKind;
  readonly host_id: string;
  /** From `jobLockClaims`: one per repository the job locks; empty for lock-free kinds. */
  readonly claims: readonly RepositoryLockClaim[];
}

export interface HoldingJob extends CoordinatedJob {
  /** Dispatched (the agent has it, restic may not run yet) or running. Both count as holding. */
  readonly state: 'dispatched' | 'running';
}

export interface DispatchInput {
  /** Jobs dispatched or running on any host: they hold their claims until they end. */
  readonly holding: readonly HoldingJob[];
  /** Requested and not yet dispatched, oldest request first. */
  readonly queued: readonly CoordinatedJob[];
  /** Whether a host's agent is connected now. */
  readonly isOnline: (hostId: string) => boolean;
}

/** Why a queued job is not dispatched now. */
export type WaitReason =
  | {
      readonly code: 'repository_held';
      readonly repository_id: string;
      /** One job holding the repository in a way that conflicts (the exclusive holder when there is one). */
      readonly blocking: HoldingJob;
    }
  | {
      readonly code: 'queued_behind';
      readonly repository_id: string;
      /** The earliest waiting job on that repository this one conflicts with. */
      readonly blocking: CoordinatedJob;
    }
  | { readonly code: 'host_offline'; readonly host_id: string };

export interface DispatchDecision {
  /** To dispatch now, in request order. */
  readonly dispatch: readonly CoordinatedJob[];
  /** Every other queued job, with its reason. */
  readonly waiting: ReadonlyMap<string, WaitReason>;
}

interface Holders {
  exclusive: HoldingJob | undefined;
  shared: HoldingJob[];
}

interface Waiters {
  first: CoordinatedJob | undefined;
  firstExclusive: CoordinatedJob | undefined;
}

function conflictingHolder(h: Holders | undefined, lock: RepositoryLock): HoldingJob | undefined {
  if (!h) return undefined;
  if (h.exclusive) return h.exclusive;
  return lock === 'exclusive' ? h.shared[0] : undefined;
}

function conflictingWaiter(w: Waiters | undefined, lock: RepositoryLock): CoordinatedJob | undefined {
  if (!w) return undefined;
  return lock === 'exclusive' ? w.first : w.firstExclusive;
}

/** Which queued jobs may be dispatched now, and why each of the others waits. O(queued × claims + holding). */
export function decideDispatch(input: DispatchInput): DispatchDecision {
  const holders = new Map<string, Holders>();
  const hold = (job: HoldingJob, claim: RepositoryLockClaim): void => {
    let h = holders.get(claim.repository_id);
    if (!h) holders.set(claim.repository_id, (h = { exclusive: undefined, shared: [] }));
    if (claim.lock === 'exclusive') h.exclusive ??= job;
    else h.shared.push(job);
  };
  for (const job of input.holding) for (const claim of job.claims) hold(job, claim);

  const waiters = new Map<string, Waiters>();
  const dispatch: CoordinatedJob[] = [];
  const waiting = new Map<string, WaitReason>();
  for (const job of input.queued) {
    if (!input.isOnline(job.host_id)) {
      waiting.set(job.job_id, { code: 'host_offline', host_id: job.host_id });
      continue;
    }
    let reason: WaitReason | undefined;
    for (const claim of job.claims) {
      const holder = conflictingHolder(holders.get(claim.repository_id), claim.lock);
      if (holder) {
        reason = { code: 'repository_held', repository_id: claim.repository_id, blocking: holder };
        break;
      }
    }
    if (!reason) {
      for (const claim of job.claims) {
        const waiter = conflictingWaiter(waiters.get(claim.repository_id), claim.lock);
        if (waiter) {
          reason = { code: 'queued_behind', repository_id: claim.repository_id, blocking: waiter };
          break;
        }
      }
    }
    if (reason) {
      waiting.set(job.job_id, reason);
      for (const claim of job.claims) {
        let w = waiters.get(claim.repository_id);
        if (!w) waiters.set(claim.repository_id, (w = { first: undefined, firstExclusive: undefined }));
        w.first ??= job;
        if (claim.lock === 'exclusive') w.firstExclusive ??= job;
      }
      continue;
    }
    dispatch.push(job);
    const now: HoldingJob = { ...job, state: 'dispatched' };
    for (const claim of job.claims) hold(now, claim);
  }
  return { dispatch, waiting };
}

/** Display names for the "why it waits" text; ids are shown when a name is unknown. */
export interface WaitNames {
  repository(id: string): string | undefined;
  host(id: string): string | undefined;
}

/** One line for the job page: "waiting for prune on repository offsite, running on host web-2". */
export function describeWait(reason: WaitReason, names: WaitNames): string {
  const host = (id: string): string => names.host(id) ?? id;
  if (reason.code === 'host_offline') return `waiting for host ${host(reason.host_id)} to come online`;
  const repo = names.repository(reason.repository_id) ?? reason.repository_id;
  if (reason.code === 'repository_held') {
    const b = reason.blocking;
    const where = b.state === 'running' ? 'running on' : 'dispatched to';
    return `waiting for ${b.kind} on repository ${repo}, ${where} host ${host(b.host_id)}`;
  }
  const b = reason.blocking;
  return `waiting behind ${b.kind} queued on repository ${repo} for host ${host(b.host_id)}`;
}

/** True when the jobs holding one repository could all hold it at once (the coordinator's safety property). */
export function holdersCompatible(locks: readonly RepositoryLock[]): boolean {
  for (let i = 0; i < locks.length; i++)
    for (let j = i + 1; j < locks.length; j++) if (!locksCompatible(locks[i], locks[j])) return false;
  return true;
}
