import type { FleetEventOf } from './events';
import { JOB_FINAL_STATUSES, type JobFinalStatus } from './job-args';

/*
 * A job's life, decided in one place. Pure: no I/O, no clock. The fleet state
 * of the control plane, the jobs and hosts read models and the live job feed
 * all fold a job's events through `evolveJobStatus`, so they cannot disagree
 * about a job's status.
 *
 *   queued → dispatched → running → succeeded | warning | failed | cancelled
 *   any open status → failed (JobRejected) | lost (JobLost) | the JobFinished status
 *
 * Statuses only move forward; a late or repeated event never reopens a
 * finished job. The one exception: `lost` is the control plane's guess, so
 * the agent's own late JobFinished replaces it (JobLost stays in the log).
 */

/** Every status of a job, in lifecycle order. */
export const JOB_STATUSES = ['queued', 'dispatched', 'running', ...JOB_FINAL_STATUSES, 'lost'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The statuses a job ends in: what a JobFinished reports, plus `lost`. The only list of them. */
export const JOB_TERMINAL_STATUSES = [...JOB_FINAL_STATUSES, 'lost'] as const;
export type JobTerminalStatus = (typeof JOB_TERMINAL_STATUSES)[number];

const TERMINAL: ReadonlySet<string> = new Set(JOB_TERMINAL_STATUSES);
const FINAL: ReadonlySet<string> = new Set(JOB_FINAL_STATUSES);

/** True for a status a job ends in (accepts any string, e.g. a read-model column). */
export const isTerminal = (status: string): status is JobTerminalStatus => TERMINAL.has(status);
export const isFinalStatus = (v: unknown): v is JobFinalStatus => typeof v === 'string' && FINAL.has(v);
/** True when the job did its work: `succeeded`, or `warning` (done, with something to look at). */
export const isSuccessful = (status: string): boolean => status === 'succeeded' || status === 'warning';

/** restic's exit code as a status, for a JobFinished without a valid one (3 = snapshot created with warnings). */
export const statusFromExitCode = (exitCode: unknown): JobFinalStatus =>
  exitCode === 0 ? 'succeeded' : exitCode === 3 ? 'warning' : 'failed';

/** Every event that can move a job's status (JobProgress is telemetry that proves the job runs). */
export const JOB_LIFECYCLE_EVENT_TYPES = [
  'JobRequested',
  'JobDispatched',
  'JobAccepted',
  'JobRejected',
  'JobStarted',
  'JobCancelRequested',
  'JobFinished',
  'JobLost',
  'JobProgress',
] as const;
export type JobLifecycleEventType = (typeof JOB_LIFECYCLE_EVENT_TYPES)[number];
export type JobLifecycleEvent = FleetEventOf<JobLifecycleEventType>;

export interface JobStatusStep {
  readonly status: JobStatus;
  /**
   * This event decided the job's outcome: the status is terminal and came from
   * it. Only then do its outcome fields (exit code, error, finish time) count.
   */
  readonly outcome: boolean;
}

const stay = (status: JobStatus): JobStatusStep => ({ status, outcome: false });
const ends = (status: JobTerminalStatus): JobStatusStep => ({ status, outcome: true });
const notStarted = (status: JobStatus): boolean => status === 'queued' || status === 'dispatched';

/**
 * The status after `event`. `current` is undefined for a job not seen yet: a
 * job exists from its first event, even when the log lost its JobRequested.
 * JobAccepted and JobCancelRequested are facts, not moves: an accepted job
 * stays `dispatched` until it starts (the agent may queue it); a cancel is
 * only a request until the job's outcome arrives.
 */
export function evolveJobStatus(current: JobStatus | undefined, event: JobLifecycleEvent): JobStatusStep {
  const status = current ?? 'queued';
  switch (event.type) {
    case 'JobRequested':
    case 'JobAccepted':
    case 'JobCancelRequested':
      return stay(status);
    case 'JobDispatched':
      return stay(status === 'queued' ? 'dispatched' : status);
    case 'JobStarted':
    case 'JobProgress':
      return stay(notStarted(status) ? 'running' : status);
    case 'JobRejected':
      return isTerminal(status) ? stay(status) : ends('failed');
    case 'JobLost':
      return isTerminal(status) ? stay(status) : ends('lost');
    case 'JobFinished': {
      // The agent's own report outranks the control plane's `lost`; anything else terminal stands.
      if (isTerminal(status) && status !== 'lost') return stay(status);
      // Reads trust the log, but a payload missing its status (or from a buggy writer) still gets one.
      const reported: unknown = event.data.status;
      return ends(isFinalStatus(reported) ? reported : statusFromExitCode(event.data.exit_code));
    }
    default: {
      const _never: never = event;
      return _never;
    }
  }
}

const LIFECYCLE_TYPES: ReadonlySet<string> = new Set(JOB_LIFECYCLE_EVENT_TYPES);
export const isJobLifecycleEvent = (event: { readonly type: string }): event is JobLifecycleEvent =>
  LIFECYCLE_TYPES.has(event.type);
