import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import { decodeQueryChunk, makeEnvelope, type QueryErrorCode, type WireMessageOf } from '@rf/events';
import type { AgentQueries, AgentQueryRequest } from '../core/agent-queries.port';
import { AppError, type AppErrorCode } from '../core/app-error';
import { AgentSessions, type AgentSession } from './agent-sessions';

/** Bytes an agent may send ahead of the reader: the most one query holds here. */
export const QUERY_WINDOW_BYTES = 1024 * 1024;
/** The Readable's own buffer in front of the reader (the queue behind it holds the window). */
const READER_BUFFER_BYTES = 64 * 1024;
/** Credit goes back in steps of at least this much, so a fast reader costs few messages. */
const GRANT_STEP = QUERY_WINDOW_BYTES / 4;
/** An agent that owes data and sends nothing for this long has failed the query. */
const DEFAULT_IDLE_MS = 120_000;

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

/**
 * The answer of one query as a byte stream (docs/browse.md, "Flow control").
 * Chunks wait in this stream's own queue until the reader pulls them; credit
 * goes back to the agent only for bytes the reader took, so at most one window
 * (plus the Readable's small buffer) is ever held here.
 */
class QueryStream extends Readable {
  private granted = QUERY_WINDOW_BYTES;
  private received = 0;
  /** Bytes handed to the reader. */
  private delivered = 0;
  private readonly queue: Buffer[] = [];
  private wanting = false;
  private endReceived = false;
  private finished = false;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    readonly queryId: string,
    readonly session: AgentSession,
    private readonly idleMs: number,
    private readonly onDone: (stream: QueryStream) => void,
  ) {
    super({ highWaterMark: READER_BUFFER_BYTES });
  }

  begin(request: AgentQueryRequest): void {
    const sent = this.session.send(
      makeEnvelope('query.start', {
        query_id: this.queryId,
        kind: request.kind,
        ...(request.repositoryId !== undefined ? { repository_id: request.repositoryId } : {}),
        ...pick(request),
        max_bytes: request.maxBytes,
        credit: this.granted,
      }),
    );
    if (!sent) this.destroy(new AppError('unavailable', 'the host went offline before the query started'));
    else this.armIdle();
  }

  chunk(data: Buffer): void {
    if (this.finished || this.destroyed) return;
    this.received += data.length;
    if (this.received > this.granted) {
      this.fail(new AppError('agent_failed', 'the agent sent more than it was granted; query stopped'));
      return;
    }
    this.armIdle();
    if (this.wanting) {
      this.wanting = false;
      this.deliver(data);
    } else this.queue.push(data);
  }

  end(): void {
    if (this.finished || this.destroyed) return;
    this.finished = true;
    this.endReceived = true;
    this.clearIdle();
    if (this.wanting && this.queue.length === 0) this.push(null);
    this.onDone(this);
  }

  fail(err: Error): void {
    if (this.destroyed) return;
    this.destroy(err);
  }

  /** An error reported by the agent: restic is done, nothing to cancel. */
  agentError(code: QueryErrorCode, message: string): void {
    this.finished = true;
    this.fail(new AppError(ERROR_CODES[code] ?? 'agent_failed', message));
  }

  override _read(): void {
    const next = this.queue.shift();
    if (next) this.deliver(next);
    else if (this.endReceived) this.push(null);
    else this.wanting = true;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.clearIdle();
    this.queue.length = 0;
    if (!this.finished) {
      this.finished = true;
      // The reader went away (or failed): the agent stops restic with SIGINT.
      this.session.send(makeEnvelope('query.cancel', { query_id: this.queryId }));
    }
    this.onDone(this);
    cb(err);
  }

  private deliver(data: Buffer): void {
    this.delivered += data.length;
    this.push(data);
    this.grant();
  }

  /** Tops the agent's credit back up to one window once the reader has taken a step's worth. */
  private grant(): void {
    if (this.finished) return;
    const more = QUERY_WINDOW_BYTES - (this.granted - this.delivered);
    if (more < GRANT_STEP) return;
    this.granted += more;
    this.session.send(makeEnvelope('query.credit', { query_id: this.queryId, bytes: more }));
    this.armIdle();
  }

  private armIdle(): void {
    this.clearIdle();
    this.idle = setTimeout(() => {
      // Only an agent that owes data is late; a full queue means our reader is slow.
      if (this.received < this.granted)
        this.fail(new AppError('agent_failed', `the agent sent nothing for ${this.idleMs / 1000} s`));
      else this.armIdle();
    }, this.idleMs);
    this.idle.unref();
  }

  private clearIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
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
 * Open browse queries by id, fed by the agent connections: binary chunk
 * frames and `query.end` / `query.error`. Only the connection a query was sent
 * on may answer it.
 */
@Injectable()
export class AgentQueryStreams implements AgentQueries {
  private readonly logger = new Logger(AgentQueryStreams.name);
  private readonly open_ = new Map<string, QueryStream>();
  idleMs = DEFAULT_IDLE_MS;

  constructor(private readonly sessions: AgentSessions) {}

  get count(): number {
    return this.open_.size;
  }

  canQuery(hostId: string): boolean {
    return this.sessions.get(hostId)?.capabilities.has('queries') ?? false;
  }

  open(hostId: string, request: AgentQueryRequest): Readable {
    const session = this.sessions.get(hostId);
    if (!session?.capabilities.has('queries'))
      throw new AppError(
        'unavailable',
        `host ${hostId} is offline or its agent is too old to answer queries`,
      );
    const stream = new QueryStream(randomUUID(), session, this.idleMs, (s) => {
      if (this.open_.get(s.queryId) === s) this.open_.delete(s.queryId);
    });
    this.open_.set(stream.queryId, stream);
    stream.begin(request);
    return stream;
  }

  /** A binary frame from `session`; false when it is not a well-formed chunk frame. */
  chunk(session: AgentSession, frame: Buffer): boolean {
    const decoded = decodeQueryChunk(frame);
    if (!decoded) return false;
    const stream = this.open_.get(decoded.queryId);
    // A late chunk of a cancelled query is normal; one for another connection's query is dropped.
    if (stream && stream.session === session) stream.chunk(decoded.data);
    return true;
  }

  answer(session: AgentSession, message: WireMessageOf<'query.end'> | WireMessageOf<'query.error'>): void {
    const stream = this.open_.get(message.payload.query_id);
    if (!stream || stream.session !== session) return;
    if (message.type === 'query.end') stream.end();
    else {
      this.logger.log(
        { host_id: session.hostId, query_id: stream.queryId, code: message.payload.code },
        'agent query failed',
      );
      stream.agentError(message.payload.code, message.payload.message);
    }
  }

  /** The socket closed: its queries can never finish. */
  connectionClosed(session: AgentSession): void {
    for (const stream of [...this.open_.values()])
      if (stream.session === session)
        stream.agentError('failed', 'the agent disconnected before the query finished');
  }
}
