import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import WebSocket, { WebSocketServer } from 'ws';
import { isId } from '@rf/events';
import { MetricsRegistry } from '../core/metrics.registry';
import { RequestAuthenticator } from '../middleware/request-authenticator';
import { isRole } from '../core/actor';
import { rejectUpgrade, UpgradeRouter } from './upgrade-router';
import { JobFeeds } from './job-feeds';
import type { JobFeed } from './job-feed';
import { LiveSettings } from '../core/live.settings';
import { TailSession } from './tail-session';
import { TailSubscriber } from './tail-subscriber';

const STREAM_PATH = /^\/api\/jobs\/([^/]+)\/stream$/;

/**
 * `GET /api/jobs/{id}/stream` (docs/architecture.md, "Live tail"): browsers and API clients watch
 * one job. Session cookie (same-origin) or API token; any role may watch.
 * Sends the persisted log and the latest progress, then live lines, progress
 * and status, then `end` and a normal close once the job is over. Each socket
 * has its own bounded queue (`TailSubscriber`); the feed behind it is shared
 * and fed by the store after the append, so a slow socket slows nothing else.
 */
@Injectable()
export class JobTailGateway implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(JobTailGateway.name);
  private readonly sessions = new Set<{ ws: WebSocket; session: TailSession; alive: boolean }>();
  private wss: WebSocketServer | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private shuttingDown = false;
  private readonly countDropped: (by?: number) => void;

  constructor(
    private readonly router: UpgradeRouter,
    private readonly authenticator: RequestAuthenticator,
    private readonly feeds: JobFeeds,
    private readonly settings: LiveSettings,
    metrics: MetricsRegistry,
  ) {
    this.countDropped = metrics.counter(
      'rf_live_dropped_lines_total',
      'Log lines not sent to a slow live-tail subscriber (it got a dropped marker instead)',
    );
    metrics.gauge('rf_live_subscribers', 'Open live-tail sockets', () => this.sessions.size);
    metrics.gauge('rf_live_feeds', 'Jobs with at least one live-tail watcher', () => this.feeds.openFeeds);
  }

  onModuleInit(): void {
    this.wss = new WebSocketServer({
      noServer: true,
      // Browsers only send pongs and close frames here.
      maxPayload: 4096,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.router.register(STREAM_PATH, (req, socket, head, pathname) => {
      this.upgrade(req, socket, head, pathname).catch((err: unknown) => {
        this.logger.error({ err }, 'live tail upgrade failed');
        rejectUpgrade(socket, 500, 'upgrade failed');
      });
    });
    this.pingTimer = setInterval(() => this.ping(), this.settings.pingIntervalMs);
    this.pingTimer.unref();
  }

  onApplicationShutdown(): void {
    this.shuttingDown = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const { ws } of this.sessions) ws.close(1001, 'control plane shutting down');
    this.wss?.close();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, pathname: string): Promise<void> {
    if (this.shuttingDown) return rejectUpgrade(socket, 503, 'control plane is shutting down');
    const auth = await this.authenticator.authenticateUpgrade(req);
    if (!auth) {
      return rejectUpgrade(socket, 401, 'sign in or send Authorization: Bearer <api token> to watch a job', {
        'WWW-Authenticate': 'Bearer',
      });
    }
    if (!isRole(auth.actor.role))
      return rejectUpgrade(socket, 403, 'only users and API tokens may watch jobs');
    let jobId: string;
    try {
      jobId = decodeURIComponent(STREAM_PATH.exec(pathname)?.[1] ?? '');
    } catch {
      jobId = '';
    }
    if (!isId(jobId))
      return rejectUpgrade(socket, 400, 'id must be an id of 1-128 characters [A-Za-z0-9._:-]');
    const afterSeq = afterSeqOf(req.url);
    if (afterSeq === null) return rejectUpgrade(socket, 400, 'after_seq must be a whole number from -1 up');
    const feed = await this.feeds.acquire(jobId);
    if (!feed) return rejectUpgrade(socket, 404, `job ${jobId} does not exist`);
    if (socket.destroyed) {
      this.feeds.release(feed);
      return;
    }
    this.wss!.handleUpgrade(req, socket, head, (ws) => this.watch(ws, feed, afterSeq));
  }

  private watch(ws: WebSocket, feed: JobFeed, afterSeq: number): void {
    const subscriber = new TailSubscriber(ws, this.settings, afterSeq);
    const session = new TailSession(feed, subscriber);
    const entry = { ws, session, alive: true };
    this.sessions.add(entry);
    ws.on('pong', () => (entry.alive = true));
    ws.on('message', () => undefined);
    ws.on('error', () => undefined);
    ws.once('close', () => {
      this.sessions.delete(entry);
      subscriber.markClosed();
      feed.remove(session);
      this.feeds.release(feed);
      if (subscriber.droppedLines > 0) this.countDropped(subscriber.droppedLines);
    });
    session.run().catch((err: unknown) => {
      this.logger.error({ err, job_id: feed.jobId }, 'live tail catch-up failed');
      ws.close(1011, 'could not read the job log');
    });
  }

  private ping(): void {
    for (const entry of this.sessions) {
      if (!entry.alive) {
        entry.ws.terminate();
        continue;
      }
      entry.alive = false;
      if (entry.ws.readyState === WebSocket.OPEN) entry.ws.ping();
    }
  }
}

/** `?after_seq=N` skips lines the client already has; -1 (default) sends all. Null when malformed. */
function afterSeqOf(url: string | undefined): number | null {
  const raw = new URL(url ?? '/', 'http://localhost').searchParams.get('after_seq');
  if (raw === null || raw === '') return -1;
  if (!/^-?\d{1,16}$/.test(raw)) return null;
  const v = Number(raw);
  return v >= -1 && Number.isSafeInteger(v) ? v : null;
}
