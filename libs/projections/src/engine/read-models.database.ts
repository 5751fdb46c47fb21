import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';

/**
 * Opens `readmodels.db` in WAL mode (incremental auto_vacuum when new) so the control plane, a concurrent
 * `projections rebuild` and readers can share it; `busy_timeout` lets the two
 * writers take turns instead of failing.
 */
export function openReadModelsDatabase(
  file: string,
  options: { readonly?: boolean } = {},
): Database.Database {
  if (file !== ':memory:' && !options.readonly) fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, {
    readonly: options.readonly ?? false,
    fileMustExist: options.readonly ?? false,
  });
  db.pragma('busy_timeout = 10000');
  if (!options.readonly) {
    // Takes effect only while the file has no tables yet: new files can return the pages that
    // retention frees to the file system (docs/architecture.md, "Read-model retention").
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -65536');
  }
  return db;
}

/** `$RF_DATA_DIR/readmodels.db`. */
export const readModelsPath = (dataDir: string): string => path.join(dataDir, 'readmodels.db');
