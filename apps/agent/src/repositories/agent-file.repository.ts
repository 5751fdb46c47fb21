import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir, writeFileAtomic } from './state-file.repository';

/**
 * The single-file agent on disk and its siblings during an update:
 * `<file>.new` (downloaded, verified, on trial) and `<file>.prev` (what ran
 * before the last update, for rollback). Renames stay within one directory,
 * so every swap is atomic.
 */
export class AgentFileRepository {
  constructor(readonly file: string) {}

  get candidate(): string {
    return `${this.file}.new`;
  }

  get previous(): string {
    return `${this.file}.prev`;
  }

  writeCandidate(bytes: Buffer): string {
    writeFileAtomic(this.candidate, bytes, 0o644);
    return this.candidate;
  }

  discardCandidate(): void {
    fs.rmSync(this.candidate, { force: true });
  }

  /** Keeps the running file as `.prev` and puts the candidate in its place. */
  promote(): void {
    fs.copyFileSync(this.file, this.previous);
    fs.renameSync(this.candidate, this.file);
    fsyncDir(path.dirname(this.file));
  }

  /** Puts `.prev` back in place; false when there is none. */
  restorePrevious(): boolean {
    if (!fs.existsSync(this.previous)) return false;
    fs.renameSync(this.previous, this.file);
    fsyncDir(path.dirname(this.file));
    return true;
  }
}

/** Written when an update is swapped in under a service manager, read by the restarted agent. */
export interface UpdateMarker {
  readonly from_version: string;
  readonly to_version: string;
  readonly promoted_at: string;
  /** How often the new version has started without confirming; a crash loop rolls back. */
  readonly starts: number;
}

function isUpdateMarker(v: unknown): v is UpdateMarker {
  const o = v as Record<string, unknown> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.from_version === 'string' &&
    typeof o.to_version === 'string' &&
    typeof o.promoted_at === 'string' &&
    typeof o.starts === 'number'
  );
}

/** `<file>.update.json` beside the agent file. */
export class UpdateMarkerRepository {
  constructor(readonly file: string) {}

  private get path(): string {
    return `${this.file}.update.json`;
  }

  /** The marker, or undefined when there is none or it cannot be read (then it is removed). */
  read(): UpdateMarker | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const v: unknown = JSON.parse(text);
      if (isUpdateMarker(v)) return v;
    } catch {
      // fall through: an unreadable marker only means no rollback watch
    }
    this.clear();
    return undefined;
  }

  write(m: UpdateMarker): void {
    writeFileAtomic(this.path, JSON.stringify(m) + '\n', 0o644);
  }

  clear(): void {
    fs.rmSync(this.path, { force: true });
  }
}
