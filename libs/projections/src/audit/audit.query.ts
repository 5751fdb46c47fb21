import type { EventStore } from '@rf/event-store';
import { recordedTime, type RecordedEvent } from '@rf/events';
import { ProjectionError } from '../engine/projection.errors';
import { describeEvent, type AuditLine, type AuditNames } from './describe-event';

/** Bulky telemetry left out of the trail unless a stream filter asks for it. */
const TELEMETRY_PREFIXES = ['joblog-'];

export interface AuditFilter {
  /** An exact stream (`job-1f2e…`) or a category (`job`, `host-`). */
  readonly stream?: string;
  readonly since?: Date;
  /** Matches the actor's id or name, or the rendered label (`agent web-01`), case-insensitively. */
  readonly actor?: string;
  /** Newest lines kept when set; default: all. */
  readonly limit?: number;
}

const RELATIVE = /^(\d+)\s*(s|m|h|d|w)$/i;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: an ISO time or a relative age such as `30m`, `24h`, `7d`. */
export function parseSince(raw: string, now: Date): Date {
  const value = raw.trim();
  const rel = RELATIVE.exec(value);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2]!.toLowerCase()]!);
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return new Date(t);
  }
  throw new ProjectionError(
    'InvalidArgument',
    `since: expected an ISO time or an age like 24h, 7d, 30m; got "${raw}"`,
    {
      field: 'since',
    },
  );
}

const isCategory = (stream: string): boolean => stream.endsWith('-') || !stream.includes('-');

function streamMatcher(stream: string | undefined): (e: RecordedEvent) => boolean {
  if (stream === undefined || stream === '')
    return (e) => !TELEMETRY_PREFIXES.some((p) => e.streamId.startsWith(p));
  if (isCategory(stream)) {
    const prefix = stream.endsWith('-') ? stream : `${stream}-`;
    return (e) => e.streamId.startsWith(prefix);
  }
  return (e) => e.streamId === stream;
}

function actorMatcher(actor: string | undefined): (line: AuditLine, e: RecordedEvent) => boolean {
  if (actor === undefined || actor === '') return () => true;
  const want = actor.toLowerCase();
  return (line) =>
    line.actor.toLowerCase() === want ||
    line.actorId?.toLowerCase() === want ||
    line.actor.toLowerCase() === `agent ${want}`;
}

/**
 * The audit trail read straight from the event store: the CLI's `audit` and
 * `GET /api/audit` both use it. Reads backwards from the end so `since` stops
 * early, and returns lines oldest first.
 */
export class AuditQuery {
  constructor(
    private readonly store: EventStore,
    private readonly names: AuditNames = {},
  ) {}

  async lines(filter: AuditFilter = {}): Promise<AuditLine[]> {
    if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit <= 0)) {
      throw new ProjectionError('InvalidArgument', 'limit: must be a positive whole number', {
        field: 'limit',
      });
    }
    const matchStream = streamMatcher(filter.stream);
    const matchActor = actorMatcher(filter.actor);
    const since = filter.since?.getTime();
    const out: AuditLine[] = [];
    const exact = filter.stream !== undefined && filter.stream !== '' && !isCategory(filter.stream);
    const source: AsyncIterable<RecordedEvent> = exact
      ? this.readStreamBackwards(filter.stream!)
      : this.store.readAll({ fromPosition: 'end', direction: 'backwards' });
    for await (const e of source) {
      if (since !== undefined && recordedTime(e).getTime() < since) break;
      if (!matchStream(e)) continue;
      const line = describeEvent(e, this.names);
      if (!matchActor(line, e)) continue;
      out.push(line);
      if (filter.limit !== undefined && out.length >= filter.limit) break;
    }
    return out.reverse();
  }

  private async *readStreamBackwards(stream: string): AsyncIterable<RecordedEvent> {
    try {
      for await (const e of this.store.readStream(stream, { fromRevision: 'end', direction: 'backwards' }))
        yield e;
    } catch (err) {
      if (err instanceof Error && (err as { code?: unknown }).code === 'StreamNotFound') return;
      throw err;
    }
  }
}
