import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Readable, type Duplex } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import {
  makeEnvelope,
  parseEnvelope,
  QUERY_ANSWERS,
  QueryUploadDecoder,
  type QueryErrorCode,
} from '@rf/events';
import type { AgentQueries, AgentQueryRequest } from '../core/agent-queries.port';
import { AppError, type AppErrorCode } from '../core/app-error';
import { AgentSessions, type AgentSession } from './agent-sessions';

/** The Readable's buffer in front of the reader; past it the upload's socket is paused (TCP backpressure). */
const READER_BUFFER_BYTES = 256 * 1024;
/** An agent that owes data (the reader waits) and sends nothing for this long has failed the query. */
const DEFAULT_IDLE_MS = 120_000;
/** The agent must open the query's upload within this long of `query.start`. */
const DEFAULT_UPLOAD_WAIT_MS = 30_000;

const ERROR_CODES: Record<QueryErrorCode, AppErrorCode> = {
  not_configured: 'unavailable',
  restic_unavailable: 'unavailable',
  unsupported: 'unavailable',
  busy: 'unavailable',
  too_large: 'too_large',
  not_found: 'not_found',
  failed: 'agent_failed',
  cancelled: 'agent_failed',
  timed_out: 'agent_failed',
};

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/** Why an upload was refused, as the HTTP status the upgrade answers. */
export type UploadRefusal = { status: 401 | 404 | 409; message: string };

/**
 * The answer of one query as a byte stream (docs/browse.md, "Flow control").
 * The agent writes restic's stdout into the query's upload, a connection of
 * its own; this stream reads that socket only while its reader keeps up, so
 * a slow reader fills TCP's buffers, the agent's write stalls and restic
 * blocks on its pipe. At most this stream's buffer plus one socket read is
 * held here.
 */
class QueryStream extends Readable {
  readonly tokenDigest: Buffer;
  private socket: Duplex | undefined;
  private decoder: QueryUploadDecoder | undefined;
  private received = 0;
  private wanting = false;
  private lastData = Date.now();
  private finished = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly queryId: string,
    readonly session: AgentSession,
    private readonly maxBytes: number,
    private readonly timing: { idleMs: number; uploadWaitMs: number },
    private readonly onDone: (stream: QueryStream) => void,
    token: string,
  ) {
    super({ highWaterMark: READER_BUFFER_BYTES });
    this.tokenDigest = digest(token);
  }

  get attached(): boolean {
    return this.socket !== undefined;
  }

  begin(request: AgentQueryRequest, token: string): void {
    const sent = this.session.send(
      makeEnvelope('query.start', {
        query_id: this.queryId,
        kind: request.kind,
        ...(request.repositoryId !== undefined ? { repository_id: request.repositoryId } : {}),
        ...pick(request),
        max_bytes: request.maxBytes,
        upload_token: token,
      }),
    );
    if (!sent) {
      this.destroy(new AppError('unavailable', 'the host went offline before the query started'));
      return;
    }
    this.timer = setTimeout(() => {
      if (!this.socket)
        this.fail(
          new AppError(
            'agent_failed',
            `the agent did not open the answer within ${this.timing.uploadWaitMs / 1000} s`,
          ),
        );
    }, this.timing.uploadWaitMs);
    this.timer.unref();
  }

  /** The agent's upload, after the upgrade: `head` is what came with the request. */
  attach(socket: Duplex, head: Buffer): void {
    this.socket = socket;
    this.clearTimer();
    this.armIdle();
    this.decoder = new QueryUploadDecoder({
      data: (bytes) => this.onData(bytes),
      answer: (text) => this.onAnswer(text),
    });
    socket.on('data', (piece: Buffer) => this.onPiece(piece));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!this.finished)
        this.fail(new AppError('agent_failed', 'the answer broke off before the agent said it was complete'));
    });
    if (head.length > 0) this.onPiece(head);
    if (!this.wanting) socket.pause();
  }

  fail(err: Error): void {
    if (this.destroyed) return;
    this.destroy(err);
  }

  override _read(): void {
    this.wanting = true;
    this.lastData = Date.now();
    this.socket?.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.clearTimer();
    if (!this.finished) {
      this.finished = true;
      // The reader went away (or failed): the agent stops restic with SIGINT; the upload is cut.
      this.session.send(makeEnvelope('query.cancel', { query_id: this.queryId }));
    }
    this.socket?.destroy();
    this.onDone(this);
    cb(err);
  }

  private onPiece(piece: Buffer): void {
    if (this.destroyed || !this.decoder) return;
    try {
      this.decoder.push(piece);
    } catch (err) {
      this.fail(new AppError('agent_failed', `the agent's answer is malformed: ${(err as Error).message}`));
    }
  }

  private onData(bytes: Buffer): void {
    if (this.destroyed) return;
    this.received += bytes.length;
    if (this.received > this.maxBytes) {
      this.fail(new AppError('too_large', `the answer exceeds the limit of ${this.maxBytes} bytes`));
      return;
    }
    this.lastData = Date.now();
    if (!this.push(bytes)) {
      this.wanting = false;
      this.socket?.pause();
    }
  }

  private onAnswer(text: string): void {
    if (this.destroyed) return;
    const parsed = parseEnvelope(text, { maxBytes: 16 * 1024, accept: QUERY_ANSWERS });
    this.finished = true;
    this.clearTimer();
    this.socket?.end();
    if (!parsed.ok) {
      this.fail(new AppError('agent_failed', `the agent's answer is malformed: ${parsed.error.message}`));
      return;
    }
    const m = parsed.message;
    if (m.type === 'query.error') {
      this.fail(new AppError(ERROR_CODES[m.payload.code] ?? 'agent_failed', m.payload.message));
      return;
    }
    if (m.type !== 'query.end' || m.payload.query_id !== this.queryId || m.payload.bytes !== this.received) {
      this.fail(new AppError('agent_failed', 'the agent ended the answer with a mismatched query.end'));
      return;
    }
    this.push(null);
    this.onDone(this);
  }

  /** Only an agent that owes data is late; a reader that does not read is not the agent's fault. */
  private armIdle(): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      if (this.finished) return;
      if (this.wanting && Date.now() - this.lastData >= this.timing.idleMs)
        this.fail(new AppError('agent_failed', `the agent sent nothing for ${this.timing.idleMs / 1000} s`));
      else this.armIdle();
    }, this.timing.idleMs);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function pick(r: AgentQueryRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['snapshot', 'path', 'pattern', 'host', 'from', 'to', 'archive'] as const) {
    const v = r[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Open browse queries by id. `open` sends `query.start` with a one-time token
 * on the host's socket; the agent then opens the query's upload
 * (`/agent/queries/{id}`, upgraded by the agent gateway after checking the
 * agent's credential), which `attachUpload` binds to the query.
 */
@Injectable()
export class AgentQueryStreams implements AgentQueries {
  private readonly logger = new Logger(AgentQueryStreams.name);
  private readonly open_ = new Map<string, QueryStream>();
  idleMs = DEFAULT_IDLE_MS;
  uploadWaitMs = DEFAULT_UPLOAD_WAIT_MS;

  constructor(private readonly sessions: AgentSessions) {}

  get count(): number {
    return this.open_.size;
  }

  canQuery(hostId: string): boolean {
    return this.sessions.get(hostId)?.capabilities.has('query_upload') ?? false;
  }

  open(hostId: string, request: AgentQueryRequest): Readable {
    const session = this.sessions.get(hostId);
    if (!session?.capabilities.has('query_upload'))
      throw new AppError(
        'unavailable',
        `host ${hostId} is offline or its agent is too old to answer queries`,
      );
    const token = randomBytes(32).toString('base64url');
    const stream = new QueryStream(
      randomUUID(),
      session,
      request.maxBytes,
      { idleMs: this.idleMs, uploadWaitMs: this.uploadWaitMs },
      (s) => {
        if (this.open_.get(s.queryId) === s) this.open_.delete(s.queryId);
      },
      token,
    );
    this.open_.set(stream.queryId, stream);
    stream.begin(request, token);
    return stream;
  }

  /**
   * Binds an upgraded upload to its query, or says why not. The token is good
   * once, for the host the query was sent to, on the connection that is still
   * that host's session.
   */
  checkUpload(queryId: string, hostId: string, token: string | undefined): UploadRefusal | null {
    const stream = this.open_.get(queryId);
    if (!stream || stream.session.hostId !== hostId)
      return { status: 404, message: 'no such query open for this host' };
    if (!token || !timingSafeEqual(digest(token), stream.tokenDigest))
      return { status: 401, message: 'missing or wrong query token' };
    if (stream.attached)
      return { status: 409, message: 'the answer of this query is already being uploaded' };
    return null;
  }

  attachUpload(queryId: string, socket: Duplex, head: Buffer): void {
    const stream = this.open_.get(queryId);
    if (!stream || stream.attached) {
      socket.destroy();
      return;
    }
    stream.attach(socket, head);
  }

  /** The socket closed: its queries' uploads may still be running, but nobody can cancel them now. */
  connectionClosed(session: AgentSession): void {
    for (const stream of [...this.open_.values()])
      if (stream.session === session) {
        this.logger.log(
          { host_id: session.hostId, query_id: stream.queryId },
          'agent disconnected during a query',
        );
        stream.fail(new AppError('agent_failed', 'the agent disconnected before the query finished'));
      }
  }
}
