import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir, moveAside, writeFileAtomic } from './state-file.repository';

/**
 * Durable outbox for agent → server envelopes.
 *
 * Every envelope except `heartbeat` (and the per-connection `hello`) is
 * appended here and fsynced BEFORE it may be sent; it leaves only when the
 * server answers `ack {ids}`. After a reconnect or a restart everything not
 * acknowledged is resent first-in first-out with its original envelope id,
 * which the server uses to de-duplicate.
 *
 * On disk: `outbox.log`, JSON lines. Line 1 is `{"schema_version":1}`; then
 * `{"o":"p","e":<envelope>}` (put) and `{"o":"a","i":[ids]}` (ack) records.
 * Appends are batched: everything enqueued during one tick is written with
 * one write + one fsync (group commit), so log streaming stays fast. When
 * acknowledged records dominate, the file is compacted by rewriting only the
 * pending envelopes atomically (tmp + fsync + rename). A torn last line (a
 * crash mid-append) is ignored, since it was never fsynced and so never sent;
 * any other unreadable content moves the file aside to
 * `outbox.log.corrupt-<ts>` with a log line — it is never silently reset.
 *
 * Size cap policy (`maxBytes`, default 256 MiB of pending envelopes):
 * - `job.started`, `job.finished`, `command.result`, `schedule.*`,
 *   `snapshots.report`, `repo.stats`, `log.dropped` and anything else not
 *   listed below are NEVER dropped, even over the cap;
 * - over the cap, `log.stream` and `job.progress` envelopes are dropped and
 *   counted per job. Dropped `log.stream` lines of a job are reported by a
 *   durable `log.dropped {job_id, from_seq, to_seq, count}`, queued as soon
 *   as a line of that job is accepted again or when the job finishes
 *   (`takeDropped`), and `job.finished` carries `dropped_log_lines`.
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
}

interface Entry {
  env: OutboxEnvelope;
  bytes: number;
  acked: boolean;
}

const SCHEMA_VERSION = 1;
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
  private flushWaiters: Array<() => void> = [];
  private drops = new Map<string, DropState>();
  private listeners: Array<() => void> = [];
  private closed = false;
  private readonly maxBytes: number;
  private readonly flushIntervalMs: number;

  constructor(private readonly opts: OutboxOptions) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_OUTBOX_MAX_BYTES;
    this.flushIntervalMs = opts.flushIntervalMs ?? 5;
    fs.mkdirSync(opts.dir, { recursive: true });
    this.file = path.join(opts.dir, 'outbox.log');
    this.load();
    this.rewrite();
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

  /** Resolves once everything enqueued so far is on disk. */
  flush(): Promise<void> {
    if (this.writeBuf.length === 0 && this.durableEnd === this.queue.length) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushWaiters.push(resolve);
      this.scheduleFlush();
    });
  }

  close(): void {
    if (this.closed) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushNow();
    this.closed = true;
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
    const env = this.opts.makeLogDropped(range);
    const line = JSON.stringify({ o: 'p', e: env }) + '\n';
    this.append(env, line, Buffer.byteLength(line));
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushNow();
    }, this.flushIntervalMs);
  }

  private flushNow(): void {
    if (this.writeBuf.length > 0) {
      const chunk = this.writeBuf.join('');
      this.writeBuf = [];
      try {
        fs.writeSync(this.fd, chunk);
        fs.fsyncSync(this.fd);
        this.fileBytes += Buffer.byteLength(chunk);
      } catch (err) {
        // Keep the envelopes in memory and try again; they are not sendable until written.
        this.opts.logger.error({ err: String(err), file: this.file }, 'outbox: write failed; will retry');
        this.writeBuf.unshift(chunk);
        this.scheduleFlushLater();
        return;
      }
    }
    const becameDurable = this.durableEnd < this.queue.length;
    this.durableEnd = this.queue.length;
    if (this.fileBytes > COMPACT_MIN_BYTES && this.fileBytes > 4 * this.pendingBytes) this.compact();
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const w of waiters) w();
    if (becameDurable) for (const l of this.listeners) l();
  }

  private scheduleFlushLater(): void {
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushNow();
    }, 1000);
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
    this.rewrite();
    this.fd = fs.openSync(this.file, 'a', 0o600);
  }

  /** Rewrites the file with only the pending envelopes, atomically. */
  private rewrite(): void {
    const lines = [JSON.stringify({ schema_version: SCHEMA_VERSION }) + '\n'];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (!e.acked) lines.push(JSON.stringify({ o: 'p', e: e.env }) + '\n');
    }
    const body = lines.join('');
    writeFileAtomic(this.file, body);
    this.fileBytes = Buffer.byteLength(body);
  }

  private load(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const lines = text.split('\n');
    // The last element is '' after a final newline, or a torn record after a crash mid-append.
    const complete = lines.slice(0, -1);
    const torn = text.endsWith('\n') ? undefined : lines[lines.length - 1];
    try {
      const header: unknown = JSON.parse(complete[0] ?? '');
      if (!isObject(header) || header.schema_version !== SCHEMA_VERSION) {
        throw new Error(`bad header (schema_version must be ${SCHEMA_VERSION})`);
      }
      const pending = new Map<string, OutboxEnvelope>();
      for (let n = 1; n < complete.length; n++) {
        const rec: unknown = JSON.parse(complete[n]);
        if (!isObject(rec)) throw new Error(`line ${n + 1}: not an object`);
        if (rec.o === 'p' && isEnvelope(rec.e)) pending.set(rec.e.id, rec.e);
        else if (rec.o === 'a' && Array.isArray(rec.i)) for (const id of rec.i) pending.delete(String(id));
        else throw new Error(`line ${n + 1}: unknown record`);
      }
      if (torn && torn.length > 0) {
        this.opts.logger.warn(
          { file: this.file, bytes: torn.length },
          'outbox: ignoring a torn last line (never sent)',
        );
      }
      for (const env of pending.values()) {
        const line = JSON.stringify({ o: 'p', e: env }) + '\n';
        const e: Entry = { env, bytes: Buffer.byteLength(line), acked: false };
        this.queue.push(e);
        this.byId.set(env.id, e);
        this.pendingBytes += e.bytes;
      }
      this.durableEnd = this.queue.length;
      if (this.queue.length > 0) {
        this.opts.logger.info(
          { pending: this.queue.length },
          'outbox: resuming with unacknowledged envelopes',
        );
      }
    } catch (err) {
      const movedTo = moveAside(this.file);
      fsyncDir(this.opts.dir);
      this.opts.logger.error(
        { file: this.file, moved_to: movedTo, reason: err instanceof Error ? err.message : String(err) },
        'outbox: file unreadable; moved aside and starting a new outbox (its envelopes were NOT sent)',
      );
    }
  }
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
