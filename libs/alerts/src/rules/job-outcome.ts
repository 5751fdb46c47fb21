import type { FleetEventOf, JobTerminalStatus } from '@rf/events';

/** How a job ended: its terminal status (decided by the catalog's job lifecycle) and what the ending event says. */
export interface JobOutcome {
  readonly status: JobTerminalStatus;
  readonly error: string | undefined;
  readonly errorCode: string | undefined;
  readonly stats: Readonly<Record<string, unknown>> | undefined;
  readonly droppedLines: number;
  /** When it ended (the event's own time, else when the log recorded it). */
  readonly at: number;
}

type EndingEvent = FleetEventOf<'JobRejected'> | FleetEventOf<'JobFinished'> | FleetEventOf<'JobLost'>;

const parsed = (iso: string, fallback: number): number => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? fallback : t;
};

export function outcomeOf(e: EndingEvent, status: JobTerminalStatus, recordedAt: number): JobOutcome {
  switch (e.type) {
    case 'JobFinished':
      return {
        status,
        error: e.data.error,
        errorCode: e.data.error_code,
        stats: e.data.stats,
        droppedLines: e.data.dropped_log_lines ?? 0,
        at: parsed(e.data.finished_at, recordedAt),
      };
    case 'JobRejected':
      return {
        status,
        error: e.data.error,
        errorCode: 'rejected',
        stats: undefined,
        droppedLines: 0,
        at: parsed(e.data.rejected_at, recordedAt),
      };
    case 'JobLost':
      return {
        status,
        error: e.data.reason,
        errorCode: undefined,
        stats: undefined,
        droppedLines: 0,
        at: parsed(e.data.lost_at, recordedAt),
      };
    default: {
      const _exhaustive: never = e;
      return _exhaustive;
    }
  }
}

/** restic could not lock the repository: `locked` from the agent, `repo_locked` in events upcast from schema v1. */
export const isLockFailure = (errorCode: string | undefined): boolean =>
  errorCode === 'locked' || errorCode === 'repo_locked';

/**
 * A failed check that examined the repository and found damage (restic exits 1
 * with "repository contains errors", which the agent reports as `fatal`), as
 * opposed to one that could not run at all (locked, wrong password, unreachable…).
 */
export const isCheckFindingErrors = (failed: {
  outcome: 'failed' | 'lost';
  errorCode: string | undefined;
}): boolean => failed.outcome === 'failed' && failed.errorCode === 'fatal';
