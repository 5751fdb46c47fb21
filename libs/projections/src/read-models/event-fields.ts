import type { RecordedEvent } from '@rf/events';

/**
 * Defensive readers for event data at the edge of the projections: a field of
 * the wrong type reads as null instead of corrupting a row. Projections use
 * only what the event itself carries (its data, stream, id and timestamps).
 */
export type Fields = Readonly<Record<string, unknown>>;

export const fields = (value: unknown): Fields =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : {};

export const str = (o: Fields, key: string): string | null => {
  const v = o[key];
  return typeof v === 'string' ? v : null;
};

export const num = (o: Fields, key: string): number | null => {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

export const bool = (o: Fields, key: string): boolean | null => {
  const v = o[key];
  return typeof v === 'boolean' ? v : null;
};

export const list = (o: Fields, key: string): readonly unknown[] => {
  const v = o[key];
  return Array.isArray(v) ? v : [];
};

/** Stable JSON for a column (null stays null). */
export const json = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

/** `job-1f2e…` → `1f2e…` for the given category. */
export const streamEntityId = (streamId: string, category: string): string | null =>
  streamId.startsWith(`${category}-`) ? streamId.slice(category.length + 1) : null;

/** The event's own time: the store's recorded time, as ISO-8601. */
export const eventTime = (event: RecordedEvent): string => event.created.toISOString();

/** An ISO time carried in the data, normalised; otherwise the event's own time. */
const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export const timeField = (o: Fields, key: string, event: RecordedEvent): string => {
  const raw = str(o, key);
  if (raw !== null) {
    // Already what toISOString() would give (the hot path for log lines): keep it as is.
    if (CANONICAL_ISO.test(raw)) return raw;
    const t = Date.parse(raw);
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  return eventTime(event);
};

export interface EventActor {
  readonly kind: string;
  readonly id: string;
  readonly name: string | null;
}

/** `metadata.actor` as recorded by the control plane (DESIGN.md §3). */
export const actorOf = (event: RecordedEvent): EventActor | null => {
  const actor = fields(fields(event.metadata)['actor']);
  const kind = str(actor, 'kind');
  const id = str(actor, 'id');
  if (kind === null || id === null) return null;
  return { kind, id, name: str(actor, 'name') };
};

/** Removes user:password from a repository URL so the read model never holds a secret. */
export const redactUrl = (raw: string): string => {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@/]*@)(.*)$/i.exec(raw);
  if (m) return `${m[1]}${m[3]}`;
  // restic's rest:/s3: style "rest:https://user:pw@host/" prefixes
  const p = /^([a-z0-9]+:)([a-z][a-z0-9+.-]*:\/\/)([^@/]*@)(.*)$/i.exec(raw);
  if (p) return `${p[1]}${p[2]}${p[4]}`;
  return raw;
};
