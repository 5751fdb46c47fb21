import * as fs from 'node:fs';
import * as path from 'node:path';

/** A state file exists but cannot be understood; it has been moved aside. */
export class StateFileCorruptError extends Error {
  readonly code = 'STATE_FILE_CORRUPT';
  constructor(
    readonly file: string,
    readonly movedTo: string,
    readonly reason: string,
  ) {
    super(`state file ${file} is unreadable (${reason}); moved aside to ${movedTo}`);
  }
}

/** One write(2): bytes written, possibly fewer than asked (disk full). The seam tests use to fill a disk. */
export type WriteSync = (fd: number, buffer: Buffer, offset: number, length: number) => number;

const systemWrite: WriteSync = (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length);

/**
 * Writes all of `data` at the file's current position, or throws. A short
 * write (the disk filled up mid-way) is continued, so the condition that
 * stopped it surfaces as an error (ENOSPC) instead of a silently torn record.
 */
export function writeFully(fd: number, data: string | Buffer, write: WriteSync = systemWrite): number {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) {
    const n = write(fd, buf, off, buf.length - off);
    // write(2) returns 0 only when nothing more can be written; make it an error rather than spin.
    if (n <= 0)
      throw Object.assign(new Error('no space left on device (write returned 0)'), { code: 'ENOSPC' });
    off += n;
  }
  return buf.length;
}

/**
 * Writes `data` to `file` so that a crash leaves either the old or the new
 * content, never a torn file: write a sibling tmp file, fsync it, rename it
 * over the target, then fsync the directory so the rename itself is durable.
 * A write that fails (disk full) removes the tmp file and throws; the target
 * keeps its old content.
 */
export function writeFileAtomic(
  file: string,
  data: string | Buffer,
  mode = 0o600,
  write: WriteSync = systemWrite,
): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    try {
      writeFully(fd, data, write);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // openSync's mode is filtered by the umask; the target must end up exactly `mode`.
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Renames an unreadable file to `<name>.corrupt-<ts>` and returns the new path. */
export function moveAside(file: string, now: Date = new Date()): string {
  const target = `${file}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
  fs.renameSync(file, target);
  return target;
}

/**
 * One JSON state file with a `schema_version`. Reads never silently reset:
 * a file that cannot be parsed, has the wrong schema version or fails the
 * caller's validation is moved aside and reported through StateFileCorruptError.
 */
export class JsonStateFile<T> {
  constructor(
    readonly file: string,
    readonly schemaVersion: number,
    private readonly parse: (raw: Record<string, unknown>) => T,
    private readonly writeSync: WriteSync = systemWrite,
  ) {}

  /** Returns the stored value, or undefined when the file does not exist. */
  read(): T | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let reason: string;
    try {
      const raw: unknown = JSON.parse(text);
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not a JSON object');
      const obj = raw as Record<string, unknown>;
      if (obj.schema_version !== this.schemaVersion) {
        throw new Error(`schema_version ${String(obj.schema_version)} (expected ${this.schemaVersion})`);
      }
      return this.parse(obj);
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    const movedTo = moveAside(this.file);
    throw new StateFileCorruptError(this.file, movedTo, reason);
  }

  write(value: T): void {
    const body = { schema_version: this.schemaVersion, ...(value as object) };
    writeFileAtomic(this.file, JSON.stringify(body, null, 2) + '\n', 0o600, this.writeSync);
  }
}
