import type { Readable } from 'node:stream';
import { encodeQueryChunk, type QueryErrorCode, type WirePayloadMap } from '@rf/events';
import {
  argsForQuery,
  classifyOutcome,
  formatVersion,
  ResticProcessRepository,
  type ResticQuery,
  type ResticRepository,
  type ResticRunResult,
} from '@rf/restic';
import type { AgentLogger } from '../logger';
import type { ResticBinary } from './job-runner.service';

type QueryStart = WirePayloadMap['query.start'];

/** The largest data frame; well under the control plane's message cap. */
const FRAME_BYTES = 64 * 1024;
/** Socket bytes queued before a query stops sending (other traffic, such as job logs, keeps flowing). */
const SOCKET_HIGH_WATER = 1024 * 1024;
const RETRY_MS = 10;

export interface QueryRunnerDeps {
  /** A JSON envelope straight to the socket (queries are never stored in the outbox). */
  sendMessage(type: 'query.end' | 'query.error', payload: object): void;
  /** A binary frame to the socket; false when it is not open. */
  sendFrame(frame: Buffer): boolean;
  /** Bytes queued in the socket. */
  bufferedAmount(): number;
  repository(id: string | undefined): ResticRepository | undefined;
  restic(): Promise<ResticBinary>;
  logger: AgentLogger;
  /** Overall limit of one query's restic run. */
  timeoutMs: number;
  cancelGraceMs: number;
  /** Queries at once; more are refused with `busy`. */
  maxConcurrent: number;
  processes?: ResticProcessRepository;
}

interface Query {
  readonly id: string;
  readonly maxBytes: number;
  readonly abort: AbortController;
  credit: number;
  sent: number;
  pending: Buffer[];
  stdout: Readable | undefined;
  retry: NodeJS.Timeout | undefined;
  /** Set when the answer is decided (too large, cancelled): later bytes are discarded. */
  failed: { code: QueryErrorCode; message: string } | undefined;
  drained: (() => void) | undefined;
}

/**
 * Runs browse queries (docs/browse.md): one restic process per query, its
 * stdout sent in binary frames as the control plane grants credit. Out of
 * credit, the runner stops reading restic's stdout, so restic blocks on a full
 * pipe: memory stays flat however large the answer and however slow the reader.
 */
export class QueryRunnerService {
  private readonly queries = new Map<string, Query>();
  private readonly processes: ResticProcessRepository;

  constructor(private readonly d: QueryRunnerDeps) {
    this.processes = d.processes ?? new ResticProcessRepository();
  }

  get active(): number {
    return this.queries.size;
  }

  start(p: QueryStart): void {
    if (this.queries.has(p.query_id)) return;
    if (this.queries.size >= this.d.maxConcurrent) {
      this.error(p.query_id, 'busy', `this host already runs ${this.d.maxConcurrent} queries; try again shortly`);
      return;
    }
    const repo = this.d.repository(p.repository_id);
    if (!repo) {
      this.error(
        p.query_id,
        'not_configured',
        p.repository_id
          ? `repository ${p.repository_id} is not configured on this host`
          : 'this host has no repository configured',
      );
      return;
    }
    const q: Query = {
      id: p.query_id,
      maxBytes: p.max_bytes,
      abort: new AbortController(),
      credit: p.credit,
      sent: 0,
      pending: [],
      stdout: undefined,
      retry: undefined,
      failed: undefined,
      drained: undefined,
    };
    this.queries.set(q.id, q);
    void this.run(q, p, repo).finally(() => {
      if (q.retry) clearTimeout(q.retry);
      this.queries.delete(q.id);
    });
  }

  credit(p: WirePayloadMap['query.credit']): void {
    const q = this.queries.get(p.query_id);
    if (!q) return;
    q.credit += p.bytes;
    this.pump(q);
  }

  cancel(queryId: string, why = 'the control plane cancelled the query'): void {
    const q = this.queries.get(queryId);
    if (!q) return;
    this.fail(q, 'cancelled', why);
  }

  /** The socket closed: nobody can receive the answers any more. */
  cancelAll(): void {
    for (const id of [...this.queries.keys()]) this.cancel(id, 'the connection to the control plane closed');
  }

  private async run(q: Query, p: QueryStart, repo: ResticRepository): Promise<void> {
    let restic: ResticBinary;
    try {
      restic = await this.d.restic();
    } catch (err) {
      this.error(q.id, 'restic_unavailable', (err as Error).message);
      return;
    }
    const inv = argsForQuery(toResticQuery(p));
    let result: ResticRunResult;
    try {
      result = await this.processes.run({
        bin: restic.bin,
        version: restic.version,
        repo,
        command: inv.command,
        args: inv.args,
        signal: q.abort.signal,
        timeoutMs: this.d.timeoutMs,
        graceMs: this.d.cancelGraceMs,
        tailLines: 20,
        rawStdout: (stdout) => this.attach(q, stdout),
      });
    } catch (err) {
      this.error(q.id, 'failed', `could not run restic: ${(err as Error).message}`);
      return;
    }
    if (q.failed) {
      this.error(q.id, q.failed.code, q.failed.message);
      return;
    }
    const outcome = classifyOutcome({
      command: inv.command,
      exitCode: result.exitCode,
      signal: result.signal,
      stderrLines: result.stderrTail,
      ...(restic.version ? { version: restic.version } : {}),
      cancelled: result.cancelled,
      timedOut: result.timedOut,
    });
    if (outcome.status !== 'succeeded' && outcome.status !== 'warning') {
      const code: QueryErrorCode = result.timedOut
        ? 'timed_out'
        : result.cancelled
          ? 'cancelled'
          : result.stderrTail.some((l) => /not found|no matching ID|no such file/i.test(l))
            ? 'not_found'
            : 'failed';
      this.error(q.id, code, outcome.message, outcome.code);
      return;
    }
    // Every byte restic wrote has been read; wait until the last of it has been sent.
    await new Promise<void>((resolve) => {
      if (q.pending.length === 0 || q.failed) resolve();
      else q.drained = resolve;
    });
    const late = q.failed as Query['failed'];
    if (late) {
      this.error(q.id, late.code, late.message);
      return;
    }
    this.d.sendMessage('query.end', {
      query_id: q.id,
      bytes: q.sent,
      exit_code: result.exitCode ?? 0,
      restic_version: restic.version ? formatVersion(restic.version) : 'unknown',
    });
  }

  private attach(q: Query, stdout: Readable): void {
    q.stdout = stdout;
    stdout.on('data', (chunk: Buffer) => {
      if (q.failed) return;
      if (q.sent + pendingBytes(q) + chunk.length > q.maxBytes) {
        this.fail(q, 'too_large', `the answer exceeds the limit of ${q.maxBytes} bytes; restic was stopped`);
        return;
      }
      q.pending.push(chunk);
      this.pump(q);
    });
  }

  /** Sends what credit and the socket allow; pauses restic's stdout while anything is left over. */
  private pump(q: Query): void {
    if (q.failed) return;
    while (q.pending.length > 0 && q.credit > 0) {
      if (this.d.bufferedAmount() >= SOCKET_HIGH_WATER) {
        q.retry ??= setTimeout(() => {
          q.retry = undefined;
          this.pump(q);
        }, RETRY_MS);
        break;
      }
      const head = q.pending[0]!;
      const n = Math.min(head.length, q.credit, FRAME_BYTES);
      const part = n === head.length ? head : head.subarray(0, n);
      if (!this.d.sendFrame(encodeQueryChunk(q.id, part))) {
        this.fail(q, 'cancelled', 'the connection to the control plane closed');
        return;
      }
      q.sent += n;
      q.credit -= n;
      if (n === head.length) q.pending.shift();
      else q.pending[0] = head.subarray(n);
    }
    if (q.pending.length > 0) q.stdout?.pause();
    else {
      q.stdout?.resume();
      const drained = q.drained;
      q.drained = undefined;
      drained?.();
    }
  }

  /** Decides the answer (an error), stops restic (SIGINT) and throws away what it still writes. */
  private fail(q: Query, code: QueryErrorCode, message: string): void {
    if (q.failed) return;
    q.failed = { code, message };
    q.pending = [];
    q.stdout?.resume();
    q.abort.abort();
    const drained = q.drained;
    q.drained = undefined;
    drained?.();
  }

  private error(queryId: string, code: QueryErrorCode, message: string, resticCode?: string): void {
    this.d.logger.info({ query_id: queryId, code, err: message }, 'agent: query failed');
    this.d.sendMessage('query.error', {
      query_id: queryId,
      code,
      message: message.slice(0, 4096) || code,
      ...(resticCode ? { restic_code: resticCode } : {}),
    });
  }
}

const pendingBytes = (q: Query): number => q.pending.reduce((n, b) => n + b.length, 0);

function toResticQuery(p: QueryStart): ResticQuery {
  switch (p.kind) {
    case 'ls':
      return { kind: 'ls', snapshot: p.snapshot ?? '', path: p.path ?? '/' };
    case 'find':
      return { kind: 'find', pattern: p.pattern ?? '', ...(p.host ? { host: p.host } : {}) };
    case 'diff':
      return { kind: 'diff', from: p.from ?? '', to: p.to ?? '' };
    case 'dump':
      return { kind: 'dump', snapshot: p.snapshot ?? '', path: p.path ?? '/', ...(p.archive ? { archive: p.archive } : {}) };
    default: {
      const exhaustive: never = p.kind;
      throw new Error(`unknown query kind ${String(exhaustive)}`);
    }
  }
}
