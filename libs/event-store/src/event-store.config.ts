import fs from 'node:fs';
import path from 'node:path';
import type { EventStore } from './event-store.port';
import {
  ESDB_CONNECTION_STRING_FORMS,
  EsdbConnectionStringError,
  isEsdbConnectionString,
  parseEsdbConnectionString,
  redactEsdbConnectionString,
} from './esdb/esdb-connection-string';
import { createEsdbEventStore, type EsdbEventStoreOptions } from './esdb/esdb-event-store.factory';
import { createSqliteEventStore } from './sqlite/sqlite-event-store';

/**
 * Which event store to use, from `RF_EVENTSTORE` (docs/architecture.md, "Event
 * store" and "External contract"):
 *  - unset, empty or `sqlite` → the embedded SQLite store at `$RF_DATA_DIR/events.db`
 *    (`RF_DATA_DIR` defaults to `./data`);
 *  - `sqlite:///abs/path.db` (or `sqlite:/abs/path.db`) → SQLite at that file;
 *  - `esdb://…`, `esdb+discover://…`, `kurrentdb://…` → EventStoreDB/KurrentDB.
 */
export type EventStoreConfig =
  | { readonly kind: 'sqlite'; readonly path: string }
  | {
      readonly kind: 'esdb';
      /** May contain credentials: never log it; use `redacted`. */
      readonly connectionString: string;
      readonly redacted: string;
    };

export const RF_EVENTSTORE_FORMS =
  'unset or "sqlite" (embedded, $RF_DATA_DIR/events.db), "sqlite:///absolute/path/events.db", ' +
  `or an EventStoreDB connection string: ${ESDB_CONNECTION_STRING_FORMS}`;

/** A bad `RF_EVENTSTORE` / `RF_DATA_DIR`. The message names the variable and never contains a password. */
export class EventStoreConfigError extends Error {
  constructor(
    readonly variable: 'RF_EVENTSTORE' | 'RF_DATA_DIR',
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'EventStoreConfigError';
  }
}

export type EventStoreEnv = Readonly<Record<string, string | undefined>>;

export function parseEventStoreConfig(
  env: EventStoreEnv = process.env,
  cwd = process.cwd(),
): EventStoreConfig {
  const raw = env['RF_EVENTSTORE']?.trim() ?? '';
  if (raw === '' || raw.toLowerCase() === 'sqlite') {
    const dataDir = env['RF_DATA_DIR']?.trim() || './data';
    if (dataDir.includes('\0')) throw new EventStoreConfigError('RF_DATA_DIR', 'must be a directory path');
    return { kind: 'sqlite', path: path.resolve(cwd, dataDir, 'events.db') };
  }
  if (/^sqlite:/i.test(raw)) return { kind: 'sqlite', path: parseSqliteUrl(raw) };
  if (isEsdbConnectionString(raw)) {
    try {
      const parsed = parseEsdbConnectionString(raw, 'RF_EVENTSTORE');
      return { kind: 'esdb', connectionString: parsed.clientConnectionString, redacted: parsed.redacted };
    } catch (err) {
      if (err instanceof EsdbConnectionStringError) {
        throw new EventStoreConfigError('RF_EVENTSTORE', err.message.replace(/^RF_EVENTSTORE: /, ''));
      }
      throw err;
    }
  }
  throw new EventStoreConfigError(
    'RF_EVENTSTORE',
    `unsupported value "${redactEsdbConnectionString(raw)}"; accepted: ${RF_EVENTSTORE_FORMS}`,
  );
}

function parseSqliteUrl(raw: string): string {
  let rest = raw.slice('sqlite:'.length);
  if (rest.startsWith('//')) rest = rest.slice(2); // sqlite:///abs → /abs
  let file: string;
  try {
    file = decodeURIComponent(rest);
  } catch {
    throw new EventStoreConfigError('RF_EVENTSTORE', `"${raw}" has an invalid %-escape in its path`);
  }
  // sqlite:///C:/data/events.db on Windows
  if (/^\/[A-Za-z]:[\\/]/.test(file)) file = file.slice(1);
  if (file === '' || !path.isAbsolute(file) || file.includes('\0') || /[?#]/.test(file)) {
    throw new EventStoreConfigError(
      'RF_EVENTSTORE',
      `"${raw}" needs an absolute file path, e.g. sqlite:///var/lib/restic-fleet/events.db; accepted: ${RF_EVENTSTORE_FORMS}`,
    );
  }
  return path.normalize(file);
}

/** Safe to log. */
export function describeEventStoreConfig(config: EventStoreConfig): string {
  return config.kind === 'sqlite' ? `sqlite (${config.path})` : `esdb (${config.redacted})`;
}

export interface CreateEventStoreOptions {
  /** SQLite only: open read-only (a CLI next to a running server). */
  readonly readonly?: boolean;
  /** EventStoreDB only: told before a dropped subscription is reopened (for logging). */
  readonly onResubscribe?: EsdbEventStoreOptions['onResubscribe'];
  /** SQLite only: told when opening dropped a torn write at the end of the WAL (default: a process warning). */
  readonly onRecovered?: (message: string) => void;
  /** SQLite only: checkpoint the WAL from a worker thread (a long-running server). */
  readonly backgroundCheckpoints?: boolean;
  /** SQLite only: told when that thread fails. */
  readonly onCheckpointFailed?: (message: string) => void;
}

export function createEventStore(
  config: EventStoreConfig,
  options: CreateEventStoreOptions = {},
): EventStore {
  if (config.kind === 'esdb') {
    return createEsdbEventStore({
      connectionString: config.connectionString,
      onResubscribe: options.onResubscribe,
    });
  }
  if (!options.readonly) fs.mkdirSync(path.dirname(config.path), { recursive: true });
  return createSqliteEventStore({
    path: config.path,
    readonly: options.readonly === true,
    ...(options.onRecovered ? { onRecovered: options.onRecovered } : {}),
    ...(options.backgroundCheckpoints ? { backgroundCheckpoints: true } : {}),
    ...(options.onCheckpointFailed ? { onCheckpointFailed: options.onCheckpointFailed } : {}),
  });
}

/**
 * The configured store, without Nest (CLIs, scripts). Throws
 * `EventStoreConfigError` for a bad `RF_EVENTSTORE`. The caller closes it.
 */
export function createEventStoreFromEnv(
  env: EventStoreEnv = process.env,
  options: CreateEventStoreOptions = {},
): EventStore {
  return createEventStore(parseEventStoreConfig(env), options);
}
