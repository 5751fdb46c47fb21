import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SessionRow {
  idHash: string;
  userId: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

interface RawSessionRow {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

/**
 * Sessions in `$RF_DATA_DIR/sessions.db`. Only a hash of the session id is
 * stored, so a copy of the file cannot be replayed as a cookie. Sessions are
 * not events: they are short-lived and carry no audit value beyond the
 * UserLoggedIn event.
 */
export class SessionRepository {
  private readonly db: Database.Database;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS sessions (
      id_hash TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      csrf_token TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      last_seen_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
    this.db.exec('CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id)');
    try {
      fs.chmodSync(file, 0o600);
    } catch {
      // Best effort: some filesystems (and Windows) do not keep POSIX modes.
    }
  }

  insert(row: SessionRow): void {
    this.db
      .prepare(
        'INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(row.idHash, row.userId, row.csrfToken, row.createdAt, row.lastSeenAt, row.expiresAt);
  }

  find(idHash: string): SessionRow | undefined {
    const raw = this.db.prepare('SELECT * FROM sessions WHERE id_hash = ?').get(idHash) as
      RawSessionRow | undefined;
    return (
      raw && {
        idHash: raw.id_hash,
        userId: raw.user_id,
        csrfToken: raw.csrf_token,
        createdAt: raw.created_at,
        lastSeenAt: raw.last_seen_at,
        expiresAt: raw.expires_at,
      }
    );
  }

  touch(idHash: string, lastSeenAt: number): void {
    this.db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?').run(lastSeenAt, idHash);
  }

  delete(idHash: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
  }

  deleteForUser(userId: string): void {
    this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(userId);
  }

  /** Drops sessions past their absolute expiry or idle for longer than `idleMs`. */
  purgeExpired(now: number, idleMs: number): number {
    return this.db
      .prepare('DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?')
      .run(now, now - idleMs).changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
