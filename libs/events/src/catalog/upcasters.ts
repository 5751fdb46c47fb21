import { legacyRepositoryId } from './event-ids';
import type { FleetEventType } from './events';

/**
 * Schema versions and upcasters. Every event type has a current version
 * (recorded in metadata `schema_version`); events written under an older
 * version are mapped forward on read, one step at a time, so stored history
 * never has to be rewritten.
 */

/** Types not listed here are at version 1. */
const CURRENT_VERSIONS: Partial<Record<FleetEventType, number>> = {
  JobFinished: 2,
  LogStreamLine: 2,
  JobRequested: 2,
  SchedulesChanged: 2,
};

export function currentSchemaVersion(type: FleetEventType): number {
  return CURRENT_VERSIONS[type] ?? 1;
}

type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

/** restic exit codes with a specific meaning (restic ≥ 0.17; see RESTIC.md §1). */
const ERROR_CODE_BY_EXIT: Readonly<Record<number, string>> = {
  10: 'repo_not_found',
  11: 'repo_locked',
  12: 'wrong_password',
};

/** Before v2 a host had one repository: the one its RepositoryConfigured history stands for. */
function hostRepositoryId(d: Record<string, unknown>): string | undefined {
  return typeof d.host_id === 'string' && d.host_id.length > 0 ? legacyRepositoryId(d.host_id) : undefined;
}

/** `UPCASTERS[type][v]` turns version v data into version v+1. */
const UPCASTERS: Partial<Record<FleetEventType, Readonly<Record<number, Upcaster>>>> = {
  JobRequested: {
    1: (d) => {
      const repository_id = hostRepositoryId(d);
      return d.repository_id !== undefined || repository_id === undefined ? d : { ...d, repository_id };
    },
  },
  SchedulesChanged: {
    1: (d) => {
      const repository_id = hostRepositoryId(d);
      if (repository_id === undefined || !Array.isArray(d.schedules)) return d;
      const schedules: unknown[] = d.schedules.map((s: unknown) =>
        typeof s === 'object' && s !== null && !('repository_id' in s) ? { ...s, repository_id } : s,
      );
      return { ...d, schedules };
    },
  },
  JobFinished: {
    // v1 had no error_code; derive it where the outcome itself says what went wrong.
    1: (d) => {
      if (d.error_code !== undefined) return d;
      let code: string | undefined;
      if (d.status === 'cancelled') code = 'cancelled';
      else if (d.status === 'warning' && d.exit_code === 3) code = 'partial_read';
      else if (d.status === 'failed' && typeof d.exit_code === 'number')
        code = ERROR_CODE_BY_EXIT[d.exit_code];
      return code === undefined ? d : { ...d, error_code: code };
    },
  },
  LogStreamLine: {
    // v1 called the line text `line`; v2 calls it `payload` like the wire message.
    1: (d) => {
      if (!('line' in d)) return d;
      const { line, ...rest } = d;
      return { ...rest, payload: typeof line === 'string' ? line : String(line ?? '') };
    },
  },
};

/** Maps data stored under `version` to the current version of `type`. Data from a newer version is returned as is. */
export function upcast(type: FleetEventType, version: number, data: unknown): unknown {
  const current = currentSchemaVersion(type);
  if (version >= current || typeof data !== 'object' || data === null) return data;
  const steps = UPCASTERS[type];
  let d = data as Record<string, unknown>;
  for (let v = version; v < current; v++) {
    const step = steps?.[v];
    if (step) d = step(d);
  }
  return d;
}
