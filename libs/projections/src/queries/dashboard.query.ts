import type Database from 'better-sqlite3';
import { isTerminal, JOB_STATUSES, JOB_TERMINAL_STATUSES, type JobTerminalStatus } from '@rf/events';
import { n, s, type Row } from './row-values';

/** Jobs that ended on one UTC day, by terminal status. */
export type DailyOutcomes = {
  /** UTC date, YYYY-MM-DD. */
  readonly date: string;
} & { readonly [S in JobTerminalStatus]: number };

const sqlList = (statuses: readonly string[]): string => statuses.map((st) => `'${st}'`).join(', ');
const TERMINAL_SQL = sqlList(JOB_TERMINAL_STATUSES);
/** The open statuses, as an IN list the status index can serve. */
const OPEN_SQL = sqlList(JOB_STATUSES.filter((st) => !isTerminal(st)));
const noOutcomes = (): Record<JobTerminalStatus, number> =>
  Object.fromEntries(JOB_TERMINAL_STATUSES.map((st) => [st, 0])) as Record<JobTerminalStatus, number>;

export interface DashboardSummary {
  readonly hosts: {
    readonly online: number;
    readonly offline: number;
    readonly revoked: number;
    readonly total: number;
  };
  readonly jobs: { readonly queued: number; readonly running: number; readonly failedLast24h: number };
  /** Oldest first, `days` entries ending today (UTC), zero-filled. */
  readonly daily: DailyOutcomes[];
}

const DAY_MS = 86_400_000;

/** The fleet dashboard, computed from the hosts and jobs read models; `now` is injected so answers are reproducible. */
export class DashboardQuery {
  constructor(private readonly db: Database.Database) {}

  summary(now: Date, days = 30): DashboardSummary {
    const hostRows = this.db
      .prepare('SELECT status, COUNT(*) AS c FROM hosts GROUP BY status')
      .all() as Row[];
    const hosts = { online: 0, offline: 0, revoked: 0, total: 0 };
    for (const r of hostRows) {
      const c = n(r, 'c') ?? 0;
      const st = s(r, 'status');
      if (st === 'online' || st === 'offline' || st === 'revoked') hosts[st] += c;
      hosts.total += st === 'revoked' ? 0 : c;
    }
    const active = this.db
      .prepare(
        `SELECT SUM(status IN ('queued', 'dispatched')) AS queued, SUM(status = 'running') AS running FROM jobs WHERE status IN (${OPEN_SQL})`,
      )
      .get() as Row;
    const since24h = new Date(now.getTime() - DAY_MS).toISOString();
    const failed = this.db
      // `+status`: read the finished_at range (a day), not every failed job there ever was.
      .prepare("SELECT COUNT(*) AS c FROM jobs WHERE +status IN ('failed', 'lost') AND finished_at >= ?")
      .get(since24h) as Row;

    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    const first = new Date(today - (days - 1) * DAY_MS).toISOString();
    const rows = this.db
      .prepare(
        `SELECT substr(finished_at, 1, 10) AS day, status, COUNT(*) AS c FROM jobs
         WHERE finished_at >= ? AND +status IN (${TERMINAL_SQL})
         GROUP BY day, status`,
      )
      .all(first) as Row[];
    const byDay = new Map<string, Record<JobTerminalStatus, number>>();
    for (let i = 0; i < days; i++) {
      const date = new Date(today - (days - 1 - i) * DAY_MS).toISOString().slice(0, 10);
      byDay.set(date, noOutcomes());
    }
    for (const r of rows) {
      const bucket = byDay.get(s(r, 'day') ?? '');
      const st = s(r, 'status');
      if (bucket && st !== null && isTerminal(st)) bucket[st] += n(r, 'c') ?? 0;
    }
    return {
      hosts,
      jobs: {
        queued: n(active, 'queued') ?? 0,
        running: n(active, 'running') ?? 0,
        failedLast24h: n(failed, 'c') ?? 0,
      },
      daily: [...byDay.entries()].map(([date, c]) => ({ date, ...c })),
    };
  }
}
