import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex, Readable } from 'node:stream';
import { type Envelope, makeEnvelope, type QueryErrorCode, type WirePayloadMap } from '@rf/events';
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
export type QueryAnswer = Envelope<'query.end'> | Envelope<'query.error'>;
/**
 * Where restic's stdout is copied (win32, TLS): how much may wait in the
 * upload's buffer before stdout is paused. A socket's own mark (16 KiB) is
 * below one pipe read (64 KiB), so pausing at it stalled restic after every
 * read (docs/browse.md, "Flow control").
 */
const UPLOAD_BUFFER_BYTES = 1024 * 1024;
/** After half-closing the upload we wait for the control plane to close it; past this we close it ourselves. */
const LINGER_MS = 30_000;

export interface QueryRunnerDeps {
  /** Opens the query's upload to the control plane (docs/browse.md, "The upload"). */
  openUpload(queryId: string, token: string): Promise<Duplex>;
  /** Sends a query's answer on the socket the query came on (false: that socket is gone). */
  answer(message: QueryAnswer): boolean;
  repository(id: string | undefined): ResticRepository | undefined;
  restic(): Promise<ResticBinary>;
  logger: AgentLogger;
  /** Overall limit of one query's restic run. */
  timeoutMs: number;
  cancelGraceMs: number;
  /** Queries at once; more are refused with `busy`. */
  maxConcurrent: number;
  /**
   * Let restic write into a plain TCP upload itself (POSIX). Default true;
   * false copies its stdout through this process as win32 and TLS must.
   */
  handOff?: boolean;
  processes?: ResticProcessRepository;
}

interface Query {
  readonly id: string;
  readonly abort: AbortController;
  /** Bytes copied into the upload; undefined when restic wrote into it itself. */
  sent: number | undefined;
  /** Set when the answer is decided (cancelled): what restic still writes is thrown away. */
  failed: { code: QueryErrorCode; message: string } | undefined;
  upload: Duplex | undefined;
}

/**
 * Runs browse queries (docs/browse.md): one restic process per query. Its
 * output goes into the query's upload, a connection of its own, as raw bytes:
 * on POSIX over plain TCP the upload's socket is restic's stdout, so restic
 * writes into the connection itself and blocks when the control plane reads
 * slowly; elsewhere stdout is copied and paused while the upload is full. When
 * restic has exited the upload is half-closed and the answer (`query.end` or
 * `query.error`) goes on the socket.
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
      abort: new AbortController(),
      sent: undefined,
      failed: undefined,
      upload: undefined,
    };
    const busy = this.queries.size >= this.d.maxConcurrent;
    if (!busy) this.queries.set(q.id, q);
    void this.run(q, p, busy)
      .then((answer) => {
        if (!this.d.answer(answer))
          this.d.logger.info({ query_id: q.id }, 'agent: the socket closed before the query was answered');
      })
      .finally(() => {
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

  /** Runs restic into the query's upload; the answer for the socket. */
  private async run(q: Query, p: QueryStart, busy: boolean): Promise<QueryAnswer> {
    const error = (code: QueryErrorCode, message: string, resticCode?: string): QueryAnswer => {
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
    let upload: Duplex;
    try {
      upload = await this.d.openUpload(q.id, p.upload_token);
    } catch (err) {
      return error('failed', `could not open the query upload: ${(err as Error).message}`);
    }
    q.upload = upload;
    upload.on('error', () => undefined);
    // The control plane reads nothing from us but sends nothing either: its end or close is a cancel.
    const gone = (): void => this.fail(q, 'cancelled', 'the control plane closed the upload');
    upload.once('end', gone);
    upload.once('close', gone);
    upload.resume();
    if (q.failed) {
      upload.destroy();
      return error(q.failed.code, q.failed.message);
    }
    const inv = argsForQuery(toResticQuery(p));
    const handOff = this.d.handOff !== false && canHandOff(upload);
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
        ...(handOff
          ? { stdoutInto: upload }
          : { rawStdout: (stdout: Readable) => this.copy(q, stdout, upload) }),
      });
    } catch (err) {
      upload.destroy();
      return error('failed', `could not run restic: ${(err as Error).message}`);
    }
    // Decided while restic ran (cancel, the upload closed); the earlier check narrowed q.failed.
    const decided = q.failed as Query['failed'];
    if (decided) {
      upload.destroy();
      return error(decided.code, decided.message);
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
      upload.destroy();
      const code: QueryErrorCode = result.timedOut
        ? 'timed_out'
        : result.cancelled
          ? 'cancelled'
          : result.stderrTail.some((l) => /not found|no matching ID|no such file/i.test(l))
            ? 'not_found'
            : 'failed';
      return error(code, outcome.message, outcome.code);
    }
    // restic has exited: every byte it wrote is in the upload; the half-close ends it after them.
    upload.off('end', gone);
    upload.end();
    setTimeout(() => upload.destroy(), LINGER_MS).unref();
    return makeEnvelope('query.end', {
      query_id: q.id,
      ...(q.sent !== undefined ? { bytes: q.sent } : {}),
      exit_code: result.exitCode ?? 0,
      restic_version: restic.version ? formatVersion(restic.version) : 'unknown',
    });
  }

  /** restic's stdout copied into the upload (no hand-off); paused while the upload's buffer is full. */
  private copy(q: Query, stdout: Readable, upload: Duplex): void {
    q.sent = 0;
    const resume = (): void => {
      stdout.resume();
    };
    stdout.on('data', (chunk: Buffer) => {
      if (q.failed || upload.destroyed) return;
      q.sent = (q.sent ?? 0) + chunk.length;
      upload.write(chunk);
      if (upload.writableLength > UPLOAD_BUFFER_BYTES) {
        stdout.pause();
        upload.once('drain', resume);
      }
    });
    upload.once('close', resume);
  }

  /**
   * Decides the answer (an error) and stops restic: SIGINT, and the upload's
   * write side shut down, so a restic blocked writing into it fails at once
   * (EPIPE) instead of waiting for a reader (restic 0.19 finishes a blocked
   * write before it honours SIGINT).
   */
  private fail(q: Query, code: QueryErrorCode, message: string): void {
    if (q.failed) return;
    q.failed = { code, message };
    q.abort.abort();
    q.upload?.end();
  }
}

/** restic can write into the upload itself: a plain TCP socket (not TLS) on a system that passes descriptors to children. */
function canHandOff(upload: Duplex): boolean {
  return process.platform !== 'win32' && upload instanceof net.Socket && !(upload instanceof tls.TLSSocket);
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
