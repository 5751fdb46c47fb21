import type { LiveDroppedMessage, LiveLogMessage, LiveMessage } from './live-messages';

/** Feed items are shared by every subscriber of a job: serialise each once, not once per socket. */
const encoded = new WeakMap<LiveMessage, Buffer>();
function encode(message: LiveMessage): Buffer {
  let bytes = encoded.get(message);
  if (bytes === undefined) {
    bytes = Buffer.from(JSON.stringify(message), 'utf8');
    encoded.set(message, bytes);
  }
  return bytes;
}
const TEXT_FRAME = { binary: false } as const;

/** The part of a `ws` WebSocket a subscriber uses (so the queue logic is testable without a socket). */
export interface LiveSocket {
  readonly bufferedAmount: number;
  send(data: Buffer, options: { binary: boolean }, cb: (err?: Error) => void): void;
  close(code: number, reason: string): void;
}

export interface TailLimits {
  /** Messages waiting for the socket before log lines are dropped for this subscriber. */
  readonly queueSize: number;
  /** Bytes the socket may hold unsent (`bufferedAmount`) before we stop writing and let the queue fill. */
  readonly maxBufferedBytes: number;
}

/**
 * One browser watching one job: a bounded queue in front of its socket with
 * drop-and-mark. A line that finds the queue full is not kept; the
 * subscriber later gets one `dropped` marker for the whole gap, in the place
 * of the missing lines. Status, progress (latest only) and the end are never
 * dropped. Nothing here blocks: a stalled socket only costs this subscriber
 * its own lines.
 */
export class TailSubscriber {
  private readonly queue: LiveMessage[] = [];
  private gap: { from: number; to: number } | null = null;
  /** Highest log seq accounted for (sent, queued or dropped); de-duplicates catch-up against live. */
  private lastSeq = -1;
  private ending = false;
  private closed = false;
  private roomWaiters: Array<() => void> = [];
  droppedLines = 0;
  sentMessages = 0;

  /** `afterSeq`: lines up to it are already on the client (the job page rendered them). */
  constructor(
    private readonly socket: LiveSocket,
    private readonly limits: TailLimits,
    afterSeq = -1,
  ) {
    this.lastSeq = afterSeq;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get queued(): number {
    return this.queue.length;
  }

  get highestSeq(): number {
    return this.lastSeq;
  }

  /** A live log line: queued, skipped as a duplicate, or dropped when the queue is full. */
  offerLine(line: LiveLogMessage): void {
    if (this.closed || line.seq <= this.lastSeq) return;
    this.lastSeq = line.seq;
    if (this.isFull()) {
      this.droppedLines++;
      if (this.gap) this.gap.to = line.seq;
      else this.gap = { from: line.seq, to: line.seq };
      return;
    }
    this.flushGap();
    this.queue.push(line);
    this.pump();
  }

  /** A catch-up line: never dropped (the caller waits for room instead), still de-duplicated. */
  pushCatchUpLine(line: LiveLogMessage): void {
    if (this.closed || line.seq <= this.lastSeq) return;
    this.lastSeq = line.seq;
    this.queue.push(line);
    this.pump();
  }

  /** Progress replaces a queued progress message, so a slow socket gets the latest, not a backlog. */
  offerProgress(message: LiveMessage & { type: 'progress' }): void {
    if (this.closed) return;
    const i = this.queue.findIndex((m) => m.type === 'progress');
    if (i >= 0) this.queue[i] = message;
    else this.queue.push(message);
    this.pump();
  }

  /** Status, agent-side drop notices: always delivered, in order. */
  offerControl(message: LiveMessage): void {
    if (this.closed) return;
    this.flushGap();
    this.queue.push(message);
    this.pump();
  }

  /** Queues the final messages and closes the socket once everything is written. */
  end(message: LiveMessage): void {
    if (this.closed || this.ending) return;
    this.flushGap();
    this.queue.push(message);
    this.ending = true;
    this.pump();
  }

  /** Resolves when the queue is at most half full (or the subscriber closed): the catch-up's pacing. */
  waitForRoom(): Promise<void> {
    if (this.closed || this.queue.length <= this.limits.queueSize / 2) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Gives up on this socket at once (server-side failure), with a close code for the client. */
  abort(code: number, reason: string): void {
    if (this.closed) return;
    this.markClosed();
    this.socket.close(code, reason);
  }

  /** The socket went away; stop queueing and release anyone waiting. */
  markClosed(): void {
    this.closed = true;
    this.queue.length = 0;
    for (const w of this.roomWaiters.splice(0)) w();
  }

  /** Full counts the socket's own unsent bytes: while they are over the limit the queue is not drained. */
  private isFull(): boolean {
    return this.queue.length >= this.limits.queueSize;
  }

  private flushGap(): void {
    if (!this.gap) return;
    const marker: LiveDroppedMessage = {
      type: 'dropped',
      from_seq: this.gap.from,
      to_seq: this.gap.to,
      reason: 'slow_consumer',
    };
    this.gap = null;
    this.queue.push(marker);
  }

  private readonly afterWrite = (err?: Error): void => {
    if (err) {
      this.markClosed();
      return;
    }
    this.pump();
  };

  private pump(): void {
    if (this.closed) return;
    while (this.queue.length > 0 && this.socket.bufferedAmount < this.limits.maxBufferedBytes) {
      const message = this.queue.shift()!;
      this.sentMessages++;
      try {
        this.socket.send(encode(message), TEXT_FRAME, this.afterWrite);
      } catch {
        this.markClosed();
        return;
      }
    }
    // A gap waits for the next line or the end, but once there is room it may go out on its own.
    if (this.gap && this.queue.length < this.limits.queueSize && this.socket.bufferedAmount === 0) {
      this.flushGap();
      this.pump();
      return;
    }
    if (this.queue.length <= this.limits.queueSize / 2) for (const w of this.roomWaiters.splice(0)) w();
    if (this.ending && this.queue.length === 0 && !this.gap) {
      this.closed = true;
      this.socket.close(1000, 'job finished');
    }
  }
}
