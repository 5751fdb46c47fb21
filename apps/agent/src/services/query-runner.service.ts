import type { Duplex, Readable } from 'node:stream';
import {
  encodeUploadHeader,
  makeEnvelope,
  UPLOAD_FRAME,
  type QueryErrorCode,
  type WirePayloadMap,
} from '@rf/events';
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
/**
 * How much of restic's output may wait in the upload's buffer before restic's
 * stdout is paused. A socket's own mark (16 KiB) is below one pipe read
 * (64 KiB), so pausing at it stalled restic after every read; a little slack
 * lets restic, the agent and the network work at the same time while memory
 * stays bounded (docs/browse.md, "Flow control").
 */
const UPLOAD_BUFFER_BYTES = 1024 * 1024;
/** After the answer frame, the control plane closes the upload; past this we close it ourselves. */
const LINGER_MS = 30_000;

export interface QueryRunnerDeps {
  /** Opens the query's upload to the control plane (docs/browse.md, "The upload"). */
  openUpload(queryId: string, token: string): Promise<Duplex>;
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
  sent: number;
  upload: Duplex | undefined;
  stdout: Readable | undefined;
  /** Set when the answer is decided (too large, cancelled): later bytes are discarded. */
  failed: { code: QueryErrorCode; message: string } | undefined;
}

/**
 * Runs browse queries (docs/browse.md): one restic process per query, its
 * stdout written as it is read into the query's upload, a connection of its
 * own. When the control plane reads slowly the upload's writes stall, the
 * runner stops reading restic's stdout, and restic blocks on a full pipe:
 * memory stays flat however large the answer and however slow the reader.
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
    const q: Query = {
      id: p.query_id,
      maxBytes: p.max_bytes,
      abort: new AbortController(),
      sent: 0,
      upload: undefined,
      stdout: undefined,
      failed: undefined,
    };
    const busy = this.queries.size >= this.d.maxConcurrent;
    if (!busy) this.queries.set(q.id, q);
    void this.run(q, p, busy).finally(() => {
      if (this.queries.get(q.id) === q) this.queries.delete(q.id);
    });
  }

  cancel(queryId: string, why = 'the control plane cancelled the query'): void {
    const q = this.queries.get(queryId);
    if (!q) return;
    this.fail(q, 'cancelled', why);
  }

  /** The socket closed: the control plane has given up on every query of this connection. */
  cancelAll(): void {
    for (const id of [...this.queries.keys()]) this.cancel(id, 'the connection to the control plane closed');
  }

  private async run(q: Query, p: QueryStart, busy: boolean): Promise<void> {
    try {
      q.upload = await this.d.openUpload(q.id, p.upload_token);
    } catch (err) {
      this.d.logger.warn(
        { query_id: q.id, err: (err as Error).message },
        'agent: could not open the query upload',
      );
      return;
    }
    const upload = q.upload;
    upload.on('error', () => undefined);
    upload.once('close', () => {
      if (!q.failed) this.fail(q, 'cancelled', 'the control plane closed the answer');
    });
    if (q.failed) {
      upload.destroy();
      return;
    }
    const answer = await this.answer(q, p, busy);
    if (upload.writable) {
      const text = JSON.stringify(answer);
      upload.write(encodeUploadHeader(UPLOAD_FRAME.answer, Buffer.byteLength(text)));
      upload.end(text);
      setTimeout(() => upload.destroy(), LINGER_MS).unref();
    }
  }

  /** Runs restic into the upload; the envelope that ends the answer. */
  private async answer(q: Query, p: QueryStart, busy: boolean): Promise<object> {
    const error = (code: QueryErrorCode, message: string, resticCode?: string): object => {
      this.d.logger.info({ query_id: q.id, code, err: message }, 'agent: query failed');
      return makeEnvelope('query.error', {
        query_id: q.id,
        code,
        message: message.slice(0, 4096) || code,
        ...(resticCode ? { restic_code: resticCode } : {}),
      });
    };
    if (busy)
      return error('busy', `this host already runs ${this.d.maxConcurrent} queries; try again shortly`);
    const repo = this.d.repository(p.repository_id);
    if (!repo)
      return error(
        'not_configured',
        p.repository_id
          ? `repository ${p.repository_id} is not configured on this host`
          : 'this host has no repository configured',
      );
    let restic: ResticBinary;
    try {
      restic = await this.d.restic();
    } catch (err) {
      return error('restic_unavailable', (err as Error).message);
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
      return error('failed', `could not run restic: ${(err as Error).message}`);
    }
    if (q.failed) return error(q.failed.code, q.failed.message);
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
      return error(code, outcome.message, outcome.code);
    }
    return makeEnvelope('query.end', {
      query_id: q.id,
      bytes: q.sent,
      exit_code: result.exitCode ?? 0,
      restic_version: restic.version ? formatVersion(restic.version) : 'unknown',
    });
  }

  /** restic's stdout into the upload as it is read; paused while the upload's buffer is full. */
  private attach(q: Query, stdout: Readable): void {
    const upload = q.upload!;
    q.stdout = stdout;
    const resume = (): void => {
      stdout.resume();
    };
    stdout.on('data', (chunk: Buffer) => {
      if (q.failed) return;
      if (q.sent + chunk.length > q.maxBytes) {
        this.fail(q, 'too_large', `the answer exceeds the limit of ${q.maxBytes} bytes; restic was stopped`);
        return;
      }
      q.sent += chunk.length;
      upload.cork();
      upload.write(encodeUploadHeader(UPLOAD_FRAME.data, chunk.length));
      upload.write(chunk);
      upload.uncork();
      if (upload.writableLength > UPLOAD_BUFFER_BYTES) {
        stdout.pause();
        upload.once('drain', resume);
      }
    });
    upload.once('close', resume);
  }

  /** Decides the answer (an error), stops restic (SIGINT) and throws away what it still writes. */
  private fail(q: Query, code: QueryErrorCode, message: string): void {
    if (q.failed) return;
    q.failed = { code, message };
    q.stdout?.resume();
    q.abort.abort();
  }
}

function toResticQuery(p: QueryStart): ResticQuery {
  switch (p.kind) {
    case 'ls':
      return { kind: 'ls', snapshot: p.snapshot ?? '', path: p.path ?? '/' };
    case 'find':
      return { kind: 'find', pattern: p.pattern ?? '', ...(p.host ? { host: p.host } : {}) };
    case 'diff':
      return { kind: 'diff', from: p.from ?? '', to: p.to ?? '' };
    case 'dump':
      return {
        kind: 'dump',
        snapshot: p.snapshot ?? '',
        path: p.path ?? '/',
        ...(p.archive ? { archive: p.archive } : {}),
      };
    default: {
      const exhaustive: never = p.kind;
      throw new Error(`unknown query kind ${String(exhaustive)}`);
    }
  }
}
