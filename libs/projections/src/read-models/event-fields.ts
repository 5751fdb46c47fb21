import { recordedTime, type RecordedEvent } from '@rf/events';
/**
 * Defensive readers for event data at the edge of the projections: a field of
 * the wrong type reads as null instead of corrupting a row. Projections use
 * only what the event itself carries (its data, stream, id and timestamps).
 */
declare const shape: unique symbol;
/**
 * An event payload (or nested object) read defensively. `T` is a phantom: when
 * it is a catalog payload type, the readers only accept that type's field
 * names, so a renamed catalog field breaks the build instead of reading null.
 */
export type Fields<T = unknown> = Readonly<Record<string, unknown>> & { readonly [shape]?: T };
type KeyOf<T> = unknown extends T ? string : Extract<keyof T, string>;

export const fields = <T = unknown>(value: unknown): Fields<T> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields<T>) : {};

/** The payload of an event narrowed to its catalog type, read defensively. */
export const payload = <D>(event: { readonly data: D }): Fields<D> => fields<D>(event.data);

export const str = <T>(o: Fields<T>, key: KeyOf<T>): string | null => {
  const v = o[key];
  return typeof v === 'string' ? v : null;
};

export const num = <T>(o: Fields<T>, key: KeyOf<T>): number | null => {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

export const list = <T>(o: Fields<T>, key: KeyOf<T>): readonly unknown[] => {
  const v = o[key];
  return Array.isArray(v) ? v : [];
};

/** Stable JSON for a column (null stays null). */
export const json = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

/** `job-1f2e…` → `1f2e…` for the given category. */
export const streamEntityId = (streamId: string, category: string): string | null =>
  streamId.startsWith(`${category}-`) ? streamId.slice(category.length + 1) : null;

/** What an event's own time is read from: the store's time, or the original one it was copied with. */
type Timed = Pick<RecordedEvent, 'created' | 'metadata'>;

/** The event's own time as ISO-8601: when the store recorded it (first recorded, for a migrated event). */
export const eventTime = (event: Timed): string => recordedTime(event).toISOString();

/** An ISO time carried in the data, normalised; otherwise the event's own time. */
const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export const timeField = <T>(o: Fields<T>, key: KeyOf<T>, event: Timed): string => {
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

/** `metadata.actor` as recorded by the control plane (docs/architecture.md, "Event catalog"). */
export const actorOf = (event: { readonly metadata: unknown }): EventActor | null => {
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
