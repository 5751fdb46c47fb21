import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir, writeFileAtomic, writeFully, type WriteSync } from './state-file.repository';

/**
 * Durable outbox for agent → server envelopes.
 *
 * Every envelope except `heartbeat` (and the per-connection `hello`) is
 * appended here and fsynced BEFORE it may be sent; it leaves only when the
 * server answers `ack {ids}`. After a reconnect or a restart everything not
 * acknowledged is resent first-in first-out with its original envelope id,
 * which the server uses to de-duplicate.
 *
 * On disk: `outbox.log`, JSON lines. Line 1 is `{"schema_version":2}` (1 is
 * read too); then `{"o":"p","e":<envelope>}` (put), `{"o":"a","i":[ids]}`
 * (ack), `{"o":"d","j":<job>,"n":lines,"p":progress,"r":<range>?}` (a job's
 * drop counters, the latest record wins) and `{"o":"e","j":<job>}` (its drop
 * accounting ended). Appends are batched: everything enqueued during one tick
 * is written with one write + one fsync (group commit), so log streaming
 * stays fast. When acknowledged records dominate, the file is compacted by
 * rewriting only the pending envelopes and drop counters atomically (tmp +
 * fsync + rename).
 *
 * Disk full: a write that stops short is continued until it fails, then the
 * file is cut back to its last complete record and the envelopes stay in
 * memory, not sendable, and are written again every second; nothing half
 * written is ever treated as durable. On load, a torn last line (a crash
 * mid-append) is ignored, since it was never fsynced and so never sent; an
 * unreadable line elsewhere keeps everything before it (loaded and resent)
 * and moves that line and everything after it to `outbox.log.corrupt-<ts>`
 * with an error log line naming the file — it is never silently reset.
 *
 * Size cap policy (`maxBytes`, default 256 MiB of pending envelopes):
 * - `job.started`, `job.finished`, `command.result`, `schedule.*`,
 *   `snapshots.report`, `repo.stats`, `log.dropped` and anything else not
 *   listed below are NEVER dropped, even over the cap;
 * - over the cap, `log.stream` and `job.progress` envelopes are dropped and
 *   counted per job. Dropped `log.stream` lines of a job are reported by a
 *   durable `log.dropped {job_id, from_seq, to_seq, count}`, queued as soon
 *   as a line of that job is accepted again or when the job finishes
 *   (`takeDropped`), and `job.finished` carries `dropped_log_lines`. The
 *   counters are part of the file, so a restart (even a crash: they ride on
 *   the next group commit, at most a second later) keeps them.
 */

export interface OutboxEnvelope {
  id: string;
  type: string;
  job_id?: string;
  payload: unknown;
}

export interface DroppedRange {
  job_id: string;
  from_seq: number;
  to_seq: number;
  count: number;
}

export interface OutboxLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface OutboxOptions {
  dir: string;
  maxBytes?: number;
  /** Group-commit interval; 0 flushes on the next macrotask. */
  flushIntervalMs?: number;
  logger: OutboxLogger;
  /** Builds the `log.dropped` envelope (ids and timestamps belong to the caller). */
  makeLogDropped: (range: DroppedRange) => OutboxEnvelope;
  /** The write boundary; tests pass one that runs out of space. */
  write?: WriteSync;
  now?: () => Date;
}

interface Entry {
  env: OutboxEnvelope;
  bytes: number;
  acked: boolean;
}

const SCHEMA_VERSION = 2;
const READABLE_SCHEMA_VERSIONS: ReadonlySet<unknown> = new Set([1, 2]);
/** Retry period while writes fail, and the longest a drop counter waits for a group commit. */
const SLOW_FLUSH_MS = 1000;
const DROPPABLE = new Set(['log.stream', 'job.progress']);
export const DEFAULT_OUTBOX_MAX_BYTES = 256 * 1024 * 1024;
const COMPACT_MIN_BYTES = 4 * 1024 * 1024;

interface DropState {
  range?: DroppedRange;
  totalLines: number;
  progress: number;
}

export class OutboxRepository {
  readonly file: string;
  private fd: number;
  private fileBytes = 0;
  /** Ordered: the durable prefix is queue[head .. durableEnd). */
  private queue: Entry[] = [];
  private head = 0;
  private sendCursor = 0;
  private durableEnd = 0;
  private byId = new Map<string, Entry>();
  private pendingBytes = 0;
  private writeBuf: string[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushDue = 0;
  private flushWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private drops = new Map<string, DropState>();
  /** Jobs whose drop counters changed since they were last written. */
  private dirtyDrops = new Set<string>();
  /** Set while writes fail (disk full): retries slow down and the error is logged once per streak. */
  private writeError: string | undefined;
  private listeners: Array<() => void> = [];
  private closed = false;
  /** A torn write could not be cut back: the next flush rewrites the whole file instead of appending. */
  private needsRewrite = false;
  private readonly maxBytes: number;
  private readonly flushIntervalMs: number;

  private readonly write: WriteSync | undefined;

  constructor(private readonly opts: OutboxOptions) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_OUTBOX_MAX_BYTES;
    this.flushIntervalMs = opts.flushIntervalMs ?? 5;
    this.write = opts.write;
    fs.mkdirSync(opts.dir, { recursive: true });
    this.file = path.join(opts.dir, 'outbox.log');
    const loaded = this.load();
    try {
      this.rewrite();
    } catch (err) {
      // Disk full at start: keep the file, cut back to its last good record, append from there.
      if (!loaded.appendable) throw err;
      fs.truncateSync(this.file, loaded.goodBytes);
      this.fileBytes = loaded.goodBytes;
      this.dirtyDrops = new Set(this.drops.keys());
      this.opts.logger.warn(
        { file: this.file, err: errText(err) },
        'outbox: could not compact at start (disk full?); appending to the existing file',
      );
    }
    this.fd = fs.openSync(this.file, 'a', 0o600);
  }

  /** Number of envelopes not yet acknowledged (durable or still being written). */
  get size(): number {
    return this.byId.size;
  }

  get pendingByteCount(): number {
    return this.pendingBytes;
  }

  /** Called whenever new envelopes become durable (and so sendable). */
  onDurable(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Queues an envelope. Returns false when the cap policy dropped it. The
   * envelope becomes sendable after the next group fsync.
   */
  enqueue(env: OutboxEnvelope): boolean {
    if (this.closed) throw new Error('outbox is closed');
    const line = JSON.stringify({ o: 'p', e: env }) + '\n';
    const bytes = Buffer.byteLength(line);
    const jobId = env.job_id;
    if (DROPPABLE.has(env.type) && this.pendingBytes + bytes > this.maxBytes) {
      this.countDrop(env);
      return false;
    }
    if (env.type === 'log.stream' && jobId) this.flushDropRange(jobId);
    this.append(env, line, bytes);
    return true;
  }

  /**
   * Ends drop accounting for a job (call before its `job.finished`): queues a
   * pending `log.dropped` and returns how many log lines were dropped in total.
   */
  takeDropped(jobId: string): { logLines: number; progress: number } {
    const st = this.drops.get(jobId);
    if (!st) return { logLines: 0, progress: 0 };
    this.flushDropRange(jobId);
    this.drops.delete(jobId);
    this.dirtyDrops.add(jobId);
    this.scheduleFlush();
    if (st.totalLines > 0 || st.progress > 0) {
      this.opts.logger.warn(
        {
          job_id: jobId,
          dropped_log_lines: st.totalLines,
          dropped_progress: st.progress,
          cap_bytes: this.maxBytes,
        },
        `outbox over its size cap: dropped ${st.totalLines} log lines and ${st.progress} progress updates of this job`,
      );
    }
    return { logLines: st.totalLines, progress: st.progress };
  }

  /** Jobs with drop counters still open (after a restart: jobs a previous run did not finish). */
  jobsWithDrops(): string[] {
    return [...this.drops.keys()];
  }

  /** Removes acknowledged envelopes. Unknown ids (already acked, resend races) are ignored. */
  ack(ids: readonly string[]): number {
    const done: string[] = [];
    for (const id of ids) {
      const e = this.byId.get(id);
      if (!e || e.acked) continue;
      e.acked = true;
      this.byId.delete(id);
      this.pendingBytes -= e.bytes;
      done.push(id);
    }
    if (done.length > 0) {
      // An ack record need not be fsynced: losing it only causes a resend, which the server de-duplicates.
      this.writeBuf.push(JSON.stringify({ o: 'a', i: done }) + '\n');
      this.scheduleFlush();
      this.trimHead();
    }
    return done.length;
  }

  /** Starts resending from the oldest unacknowledged envelope (a new connection). */
  rewindSend(): void {
    this.sendCursor = this.head;
  }

  /** Up to `max` durable envelopes not yet sent on the current connection, in order. */
  takeSendable(max: number): OutboxEnvelope[] {
    const out: OutboxEnvelope[] = [];
    while (this.sendCursor < this.durableEnd && out.length < max) {
      const e = this.queue[this.sendCursor++];
      if (!e.acked) out.push(e.env);
    }
    return out;
  }

  /**
   * Resolves once everything enqueued so far is on disk; rejects when the
   * next write fails (the envelopes stay queued and are retried).
   */
  flush(): Promise<void> {
    if (this.writeBuf.length === 0 && this.durableEnd === this.queue.length && this.dirtyDrops.size === 0)
      return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.flushWaiters.push({ resolve, reject });
      this.scheduleFlush();
    });
  }

  /** The error of the last failed write while writes keep failing (disk full), else undefined. */
  get failing(): string | undefined {
    return this.writeError;
  }

  close(): void {
    if (this.closed) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushNow();
    this.closed = true;
    // A failed last write scheduled a retry; what it held stays in memory only (never sent as durable).
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    fs.closeSync(this.fd);
  }

  private append(env: OutboxEnvelope, line: string, bytes: number): void {
    const e: Entry = { env, bytes, acked: false };
    this.queue.push(e);
    this.byId.set(env.id, e);
    this.pendingBytes += bytes;
    this.writeBuf.push(line);
    this.scheduleFlush();
  }

  private countDrop(env: OutboxEnvelope): void {
    const jobId = env.job_id ?? '';
    let st = this.drops.get(jobId);
    if (!st) {
      st = { totalLines: 0, progress: 0 };
      this.drops.set(jobId, st);
    }
    this.dirtyDrops.add(jobId);
    // No fsync per dropped line: the counters ride on the next group commit, within a second.
    this.scheduleFlush(SLOW_FLUSH_MS);
    if (env.type === 'job.progress') {
      st.progress++;
      return;
    }
    const seq = seqOf(env.payload);
    st.totalLines++;
    if (!st.range) st.range = { job_id: jobId, from_seq: seq, to_seq: seq, count: 0 };
    st.range.to_seq = Math.max(st.range.to_seq, seq);
    st.range.from_seq = Math.min(st.range.from_seq, seq);
    st.range.count++;
  }

  private flushDropRange(jobId: string): void {
    const st = this.drops.get(jobId);
    if (!st?.range) return;
    const range = st.range;
    st.range = undefined;
    this.dirtyDrops.add(jobId);
    const env = this.opts.makeLogDropped(range);
    const line = JSON.stringify({ o: 'p', e: env }) + '\n';
    this.append(env, line, Buffer.byteLength(line));
  }

  private scheduleFlush(delayMs = this.flushIntervalMs): void {
    if (this.closed) return;
    const delay = this.writeError === undefined ? delayMs : Math.max(delayMs, SLOW_FLUSH_MS);
    const due = Date.now() + delay;
    if (this.flushTimer) {
      if (this.flushDue <= due) return;
      clearTimeout(this.flushTimer);
    }
    this.flushDue = due;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushNow();
    }, delay);
  }

  private flushNow(): void {
    if (this.needsRewrite) {
      // The rewrite holds every queued envelope and the drop counters; the buffered records are in it.
      try {
        this.compact();
      } catch (err) {
        this.onWriteFailed(err);
        return;
      }
      this.needsRewrite = false;
      this.writeBuf = [];
      this.dirtyDrops.clear();
    }
    for (const jobId of this.dirtyDrops) this.writeBuf.push(this.dropRecord(jobId));
    this.dirtyDrops.clear();
    if (this.writeBuf.length > 0) {
      const chunk = Buffer.from(this.writeBuf.join(''), 'utf8');
      try {
        writeFully(this.fd, chunk, this.write);
        fs.fsyncSync(this.fd);
        this.fileBytes += chunk.length;
        this.writeBuf = [];
      } catch (err) {
        this.onWriteFailed(err);
        return;
      }
      if (this.writeError !== undefined) {
        this.opts.logger.info({ file: this.file }, 'outbox: writes succeed again');
        this.writeError = undefined;
      }
    }
    const becameDurable = this.durableEnd < this.queue.length;
    this.durableEnd = this.queue.length;
    if (this.fileBytes > COMPACT_MIN_BYTES && this.fileBytes > 4 * this.pendingBytes) this.compact();
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const w of waiters) w.resolve();
    if (becameDurable) for (const l of this.listeners) l();
  }

  /**
   * A write stopped part-way (disk full) or failed: cut the file back to its
   * last complete record so no torn line stays behind, keep the records in
   * memory (not sendable), and try again later.
   */
  private onWriteFailed(err: unknown): void {
    const why = errText(err);
    try {
      fs.ftruncateSync(this.fd, this.fileBytes);
    } catch (truncErr) {
      // Without the cut a retry would append after a torn line; start over with a rewrite instead.
      this.opts.logger.error(
        { file: this.file, err: errText(truncErr) },
        'outbox: could not cut back a torn write',
      );
      this.needsRewrite = true;
    }
    if (this.writeError === undefined) {
      this.opts.logger.error(
        { file: this.file, err: why, pending: this.queue.length - this.durableEnd },
        'outbox: write failed (disk full?); the envelopes stay queued and are not sent until written; retrying every second',
      );
    }
    this.writeError = why;
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const w of waiters) w.reject(new Error(`outbox write failed: ${why}`));
    this.scheduleFlush(SLOW_FLUSH_MS);
  }

  private trimHead(): void {
    while (this.head < this.queue.length && this.queue[this.head].acked) this.head++;
    // Drop the acknowledged prefix from memory once it is large; the send cursor moves with it.
    if (this.head > 4096 && this.head > this.queue.length / 2) {
      this.queue = this.queue.slice(this.head);
      this.durableEnd -= this.head;
      this.sendCursor = Math.max(0, this.sendCursor - this.head);
      this.head = 0;
    }
  }

  private compact(): void {
    fs.closeSync(this.fd);
    try {
      this.rewrite();
    } finally {
      // Reopened whatever happened: a failed rewrite left the old file in place.
      this.fd = fs.openSync(this.file, 'a', 0o600);
    }
  }

  /** Rewrites the file with only the pending envelopes and drop counters, atomically. */
  private rewrite(): void {
    const lines = [JSON.stringify({ schema_version: SCHEMA_VERSION }) + '\n'];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (!e.acked) lines.push(JSON.stringify({ o: 'p', e: e.env }) + '\n');
    }
    for (const jobId of this.drops.keys()) lines.push(this.dropRecord(jobId));
    const body = Buffer.from(lines.join(''), 'utf8');
    writeFileAtomic(this.file, body, 0o600, this.write);
    this.fileBytes = body.length;
    this.dirtyDrops.clear();
  }

  private dropRecord(jobId: string): string {
    const st = this.drops.get(jobId);
    if (!st) return JSON.stringify({ o: 'e', j: jobId }) + '\n';
    return (
      JSON.stringify({
        o: 'd',
        j: jobId,
        n: st.totalLines,
        p: st.progress,
        ...(st.range ? { r: st.range } : {}),
      }) + '\n'
    );
  }

  /**
   * Reads the file into memory. `goodBytes` is where its last complete,
   * readable record ends; `appendable` says whether appending at that point
   * keeps the file valid (false when there was nothing, or a bad part that
   * could not be saved elsewhere).
   */
  private load(): { goodBytes: number; appendable: boolean } {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { goodBytes: 0, appendable: false };
      throw err;
    }
    const pending = new Map<string, OutboxEnvelope>();
    let offset = 0;
    let lineNo = 0;
    let bad: { line: number; offset: number; reason: string } | undefined;
    while (offset < buf.length) {
      const nl = buf.indexOf(0x0a, offset);
      if (nl < 0) {
        // A torn last record: never fsynced, so never sent.
        this.opts.logger.warn(
          { file: this.file, bytes: buf.length - offset },
          'outbox: ignoring a torn last line (never sent)',
        );
        break;
      }
      lineNo++;
      const reason = this.applyRecord(buf.toString('utf8', offset, nl), lineNo, pending);
      if (reason !== undefined) {
        bad = { line: lineNo, offset, reason };
        break;
      }
      offset = nl + 1;
    }
    // Nothing complete (empty, or only a torn first line): nothing to keep or to set aside.
    if (lineNo === 0) return { goodBytes: 0, appendable: false };
    let appendable = bad === undefined;
    if (bad) appendable = this.setAside(buf, bad);
    for (const env of pending.values()) {
      const line = JSON.stringify({ o: 'p', e: env }) + '\n';
      const e: Entry = { env, bytes: Buffer.byteLength(line), acked: false };
      this.queue.push(e);
      this.byId.set(env.id, e);
      this.pendingBytes += e.bytes;
    }
    this.durableEnd = this.queue.length;
    if (this.queue.length > 0) {
      this.opts.logger.info({ pending: this.queue.length }, 'outbox: resuming with unacknowledged envelopes');
    }
    return { goodBytes: bad ? bad.offset : offset, appendable: appendable && (bad?.line ?? 2) > 1 };
  }

  /** Applies one line to the loading state; returns why it is unreadable, or undefined. */
  private applyRecord(
    text: string,
    lineNo: number,
    pending: Map<string, OutboxEnvelope>,
  ): string | undefined {
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch (err) {
      return `line ${lineNo}: not JSON (${errText(err)})`;
    }
    if (!isObject(rec)) return `line ${lineNo}: not an object`;
    if (lineNo === 1) {
      return READABLE_SCHEMA_VERSIONS.has(rec.schema_version)
        ? undefined
        : `bad header (schema_version must be ${[...READABLE_SCHEMA_VERSIONS].join(' or ')})`;
    }
    if (rec.o === 'p' && isEnvelope(rec.e)) pending.set(rec.e.id, rec.e);
    else if (rec.o === 'a' && Array.isArray(rec.i)) for (const id of rec.i) pending.delete(String(id));
    else if (rec.o === 'd' && typeof rec.j === 'string' && isCount(rec.n) && isCount(rec.p)) {
      this.drops.set(rec.j, {
        totalLines: rec.n,
        progress: rec.p,
        ...(isDroppedRange(rec.r) ? { range: rec.r } : {}),
      });
    } else if (rec.o === 'e' && typeof rec.j === 'string') this.drops.delete(rec.j);
    else return `line ${lineNo}: unknown record`;
    return undefined;
  }

  /**
   * Saves the unreadable part (the bad line and all after it) to
   * `outbox.log.corrupt-<ts>` and reports it; the records before it stay.
   * Returns false when the bad part could only be kept by renaming the whole
   * file (no space to copy it), so the main file must be rewritten.
   */
  private setAside(buf: Buffer, bad: { line: number; offset: number; reason: string }): boolean {
    const now = this.opts.now?.() ?? new Date();
    const target = `${this.file}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
    let savedPartOnly = true;
    try {
      writeFileAtomic(target, buf.subarray(bad.offset), 0o600, this.write);
    } catch {
      // No room for a copy: keep the whole file under the new name instead; the main file gets rewritten.
      fs.renameSync(this.file, target);
      fsyncDir(this.opts.dir);
      savedPartOnly = false;
    }
    const linesAside = countLines(buf.subarray(bad.offset));
    this.opts.logger.error(
      {
        file: this.file,
        moved_to: target,
        reason: bad.reason,
        first_bad_line: bad.line,
        lines_kept: bad.line - 1,
        lines_set_aside: linesAside,
      },
      `outbox: line ${bad.line} is unreadable; the ${bad.line - 1} lines before it are kept and sent, ` +
        `${linesAside} line(s) from it on were set aside in ${target} (those envelopes were NOT sent)`,
    );
    return savedPartOnly;
  }
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : err instanceof Error ? err.message : String(err);
}

function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  return buf.length > 0 && buf[buf.length - 1] !== 0x0a ? n + 1 : n;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function isDroppedRange(v: unknown): v is DroppedRange {
  return (
    isObject(v) &&
    typeof v.job_id === 'string' &&
    isCount(v.from_seq) &&
    isCount(v.to_seq) &&
    isCount(v.count)
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEnvelope(v: unknown): v is OutboxEnvelope {
  return isObject(v) && typeof v.id === 'string' && typeof v.type === 'string';
}

function seqOf(payload: unknown): number {
  return isObject(payload) && typeof payload.seq === 'number' ? payload.seq : 0;
}
