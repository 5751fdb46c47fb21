import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Readable, type Duplex } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import { makeEnvelope, type QueryErrorCode, type WireMessageOf } from '@rf/events';
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

/** The capability of an agent that answers queries as this control plane expects (raw upload, answer on the socket). */
const CAPABILITY = 'query_raw_upload';

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/** Why an upload was refused, as the HTTP status the upgrade answers. */
export type UploadRefusal = { status: 401 | 404 | 409; message: string };

/** A query's answer as it comes on the agent's socket. */
export type QueryAnswerMessage = WireMessageOf<'query.end'> | WireMessageOf<'query.error'>;

/**
 * The answer of one query as a byte stream (docs/browse.md, "Flow control").
 * The agent's upload carries restic's output as it is, and this stream reads
 * that socket only while its reader keeps up, so a slow reader fills TCP's
 * buffers and restic's write into the upload blocks. The upload's end
 * (the agent half-closes it once restic has exited) and the answer on the
 * agent's socket (`query.end`) together end the stream; a `query.error`, a
 * broken upload or a count that does not add up fail it. At most this
 * stream's buffer plus one socket read is held here.
 */
class QueryStream extends Readable {
  readonly tokenDigest: Buffer;
  private socket: Duplex | undefined;
  private received = 0;
  private uploadEnded = false;
  private ended: WireMessageOf<'query.end'>['payload'] | undefined;
  private wanting = false;
  private lastData = Date.now();
  private finished = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly queryId: string,
    readonly session: AgentSession,
    private readonly request: AgentQueryRequest,
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

  begin(token: string): void {
    const request = this.request;
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
    socket.on('data', (piece: Buffer) => this.onData(piece));
    socket.on('error', () => undefined);
    socket.once('end', () => {
      this.uploadEnded = true;
      this.settle();
    });
    socket.once('close', () => {
      if (!this.uploadEnded)
        this.fail(new AppError('agent_failed', 'the answer broke off before the agent said it was complete'));
    });
    if (head.length > 0) this.onData(head);
    if (!this.wanting) socket.pause();
  }

  /** The agent's answer on its socket: an error fails the stream at once; an end waits for the upload's. */
  answer(m: QueryAnswerMessage): void {
    if (this.destroyed || this.finished) return;
    if (m.type === 'query.error') {
      this.fail(new AppError(ERROR_CODES[m.payload.code] ?? 'agent_failed', m.payload.message));
      return;
    }
    this.ended = m.payload;
    this.settle();
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

  private onData(bytes: Buffer): void {
    if (this.destroyed) return;
    this.received += bytes.length;
    if (this.received > this.request.maxBytes) {
      this.fail(new AppError('too_large', `the answer exceeds the limit of ${this.request.maxBytes} bytes`));
      return;
    }
    this.lastData = Date.now();
    if (!this.push(bytes)) {
      this.wanting = false;
      this.socket?.pause();
    }
  }

  /**
   * Ends the stream once both the upload's end and `query.end` are here, and
   * only when the bytes add up: to the agent's count when it counted them, and
   * to the size the reader was promised (a file's Content-Length). Otherwise
   * the reader's response is aborted, never ended short.
   */
  private settle(): void {
    if (this.destroyed || this.finished || !this.uploadEnded || !this.ended) return;
    const { bytes } = this.ended;
    const expected = this.request.expectedBytes;
    if (
      (bytes !== undefined && bytes !== this.received) ||
      (expected !== undefined && expected !== this.received)
    ) {
      this.fail(
        new AppError(
          'agent_failed',
          `the answer has ${this.received} bytes where ${bytes ?? expected} were due; it is incomplete`,
        ),
      );
      return;
    }
    this.finished = true;
    this.clearTimer();
    this.socket?.end();
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
    return this.sessions.get(hostId)?.capabilities.has(CAPABILITY) ?? false;
  }

  open(hostId: string, request: AgentQueryRequest): Readable {
    const session = this.sessions.get(hostId);
    if (!session?.capabilities.has(CAPABILITY))
      throw new AppError(
        'unavailable',
        `host ${hostId} is offline or its agent is too old to answer queries`,
      );
    const token = randomBytes(32).toString('base64url');
    const stream = new QueryStream(
      randomUUID(),
      session,
      request,
      { idleMs: this.idleMs, uploadWaitMs: this.uploadWaitMs },
      (s) => {
        if (this.open_.get(s.queryId) === s) this.open_.delete(s.queryId);
      },
      token,
    );
    this.open_.set(stream.queryId, stream);
    stream.begin(token);
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

  /** `query.end` / `query.error` on an agent's socket: only for a query sent on that same session. */
  answer(session: AgentSession, message: QueryAnswerMessage): void {
    const stream = this.open_.get(message.payload.query_id);
    if (stream?.session === session) stream.answer(message);
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
