import type Database from 'better-sqlite3';
import { clampLimit, n, parsed, s, type Row } from './row-values';

export type AlertState = 'open' | 'acknowledged' | 'resolved';

/** One alert as the read model holds it (docs/alerts.md). */
export interface AlertRecord {
  readonly id: string;
  readonly rule: string;
  readonly severity: string;
  readonly subject: string;
  readonly state: AlertState;
  readonly hostId: string | null;
  readonly hostname: string | null;
  readonly repositoryId: string | null;
  readonly jobId: string | null;
  readonly scheduleId: string | null;
  readonly summary: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly raisedAt: string;
  readonly acknowledged: {
    readonly at: string;
    readonly by: string;
    readonly byName: string | null;
    readonly note: string | null;
  } | null;
  readonly resolvedAt: string | null;
  readonly resolution: string | null;
}

export interface AlertFilter {
  /** `open` takes acknowledged alerts too (they are not resolved yet); `all` is every alert. */
  readonly state?: 'open' | 'resolved' | 'all';
  readonly hostId?: string;
  readonly rule?: string;
  readonly limit?: number;
}

const asState = (v: string | null): AlertState => (v === 'acknowledged' || v === 'resolved' ? v : 'open');

function toRecord(row: Row): AlertRecord {
  const details = parsed(row, 'details');
  const ackAt = s(row, 'acknowledged_at');
  return {
    id: s(row, 'id') ?? '',
    rule: s(row, 'rule') ?? '',
    severity: s(row, 'severity') ?? '',
    subject: s(row, 'subject') ?? '',
    state: asState(s(row, 'state')),
    hostId: s(row, 'host_id'),
    hostname: s(row, 'hostname'),
    repositoryId: s(row, 'repository_id'),
    jobId: s(row, 'job_id'),
    scheduleId: s(row, 'schedule_id'),
    summary: s(row, 'summary') ?? '',
    details:
      details !== null && typeof details === 'object' && !Array.isArray(details)
        ? (details as Record<string, unknown>)
        : {},
    raisedAt: s(row, 'raised_at') ?? '',
    acknowledged:
      ackAt === null
        ? null
        : {
            at: ackAt,
            by: s(row, 'acknowledged_by') ?? '',
            byName: s(row, 'acknowledged_by_name'),
            note: s(row, 'ack_note'),
          },
    resolvedAt: s(row, 'resolved_at'),
    resolution: s(row, 'resolution'),
  };
}

export class AlertsQuery {
  constructor(private readonly db: Database.Database) {}

  /** Open (and acknowledged) alerts first, by severity then newest; then the rest, newest first. */
  list(filter: AlertFilter = {}): AlertRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.state === 'open') where.push("state <> 'resolved'");
    if (filter.state === 'resolved') where.push("state = 'resolved'");
    if (filter.hostId !== undefined) {
      where.push('host_id = ?');
      args.push(filter.hostId);
    }
    if (filter.rule !== undefined) {
      where.push('rule = ?');
      args.push(filter.rule);
    }
    args.push(clampLimit(filter.limit, 200, 1000));
    const rows = this.db
      .prepare(
        `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY (state = 'resolved'),
                  CASE WHEN state = 'resolved' THEN 0 ELSE CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END END,
                  CASE WHEN state = 'resolved' THEN resolved_at END DESC,
                  raised_at DESC, id
         LIMIT ?`,
      )
      .all(...args) as Row[];
    return rows.map(toRecord);
  }

  get(id: string): AlertRecord | null {
    const row = this.db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  /** Alerts not resolved yet (acknowledged ones included): the top bar's number. */
  openCount(): number {
    const row = this.db.prepare("SELECT count(*) AS c FROM alerts WHERE state <> 'resolved'").get() as Row;
    return n(row, 'c') ?? 0;
  }
}
