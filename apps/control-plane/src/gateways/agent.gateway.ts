import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { WebSocketServer } from 'ws';
import { hostStream, type DisconnectReason, type WireMessageOf } from '@rf/events';
import { isEventStoreError } from '@rf/event-store';
import { MetricsRegistry } from '../core/metrics.registry';
import { AgentCredentialsService } from '../services/agent-credentials.service';
import { AgentMessagesService } from '../ingest/agent-messages.service';
import { FleetEventWriter } from '../services/fleet-event.writer';
import { FleetStateService } from '../services/fleet-state.service';
import { JobCommandsService } from '../services/jobs.service';
import { JobDispatchService } from '../services/job-dispatch.service';
import { RepositoryCommandsService } from '../services/repository.service';
import { ScheduleCommandsService } from '../services/schedules.service';
import { AppConfig } from '../core/app-config';
import { AgentUpdatesService } from '../services/agent-updates.service';
import { AgentConnection, type ConnectionDeps } from './agent-connection';
import { AgentQueryStreams } from './agent-query.streams';
import { AgentSessions } from './agent-sessions';
import { rejectUpgrade, UpgradeRouter } from './upgrade-router';

/** A query's upload (docs/browse.md, "The upload"). */
const QUERY_UPLOAD_PATH =
  /^\/agent\/queries\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/** The protocol name in the upload's `Upgrade` header. */
export const QUERY_UPLOAD_PROTOCOL = 'restic-fleet-query';

/** Envelopes one socket may have in flight before we stop reading from it. */
const MAX_INFLIGHT_PER_SOCKET = 4096;

/**
 * The agent WebSocket at `/agent` (docs/architecture.md, "Wire protocol"): bearer auth on upgrade (401
 * otherwise), hello with protocol negotiation, append-then-ack ingest,
 * heartbeats, replacement of an older connection and revocation.
 */
@Injectable()
export class AgentGateway implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(AgentGateway.name);
  private readonly connections = new Set<AgentConnection>();
  private wss: WebSocketServer | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly deps: ConnectionDeps;
  private shuttingDown = false;

  constructor(
    private readonly router: UpgradeRouter,
    private readonly credentials: AgentCredentialsService,
    private readonly fleet: FleetStateService,
    private readonly sessions: AgentSessions,
    private readonly messages: AgentMessagesService,
    private readonly jobs: JobCommandsService,
    private readonly dispatcher: JobDispatchService,
    private readonly schedules: ScheduleCommandsService,
    private readonly repository: RepositoryCommandsService,
    private readonly writer: FleetEventWriter,
    private readonly updates: AgentUpdatesService,
    private readonly config: AppConfig,
    metrics: MetricsRegistry,
    private readonly queries: AgentQueryStreams,
  ) {
    const countAcked = metrics.counter('rf_envelopes_acked_total', 'Agent envelopes appended and acked');
    const observeAck = metrics.histogram(
      'rf_agent_ack_latency_seconds',
      'Time from reading a batch of agent envelopes off the socket to acking it (one sample per envelope)',
    );
    metrics.gauge(
      'rf_agent_queries_open',
      'Browse queries waiting for or streaming an answer',
      () => this.queries.count,
    );
    metrics.gauge('rf_agents_connected', 'Agents connected (after hello)', () => this.sessions.count);
    metrics.gauge(
      'rf_agent_sockets_open',
      'Agent sockets open, including those before hello',
      () => this.connections.size,
    );
    this.deps = {
      softCapBytes: config.maxMessageBytes,
      maxInflight: MAX_INFLIGHT_PER_SOCKET,
      logger: this.logger,
      traceMessages: config.logLevel === 'trace',
      ingest: (hostId, messages, receivedAt) => this.messages.ingest(hostId, messages, receivedAt),
      hello: (connection, message) => this.hello(connection, message),
      recordDisconnect: (connection, reason) => this.recordDisconnect(connection, reason),
      onClosed: (connection) => {
        this.connections.delete(connection);
        this.sessions.remove(connection);
        this.queries.connectionClosed(connection);
      },
      queryAnswer: (connection, message) => this.queries.answer(connection, message),
      recordAcked: (n, latencyS) => {
        countAcked(n);
        if (latencyS !== undefined) for (let i = 0; i < n; i++) observeAck(latencyS);
      },
    };
  }

  onModuleInit(): void {
    this.wss = new WebSocketServer({
      noServer: true,
      // Messages between the soft cap and this get an `error` and the socket stays up; beyond it ws closes with 1009.
      maxPayload: Math.max(this.config.maxMessageBytes * 4, this.config.maxMessageBytes + 65_536),
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.router.register('/agent', (req, socket, head) => void this.upgrade(req, socket, head));
    this.router.register(QUERY_UPLOAD_PATH, (req, socket, head, pathname) => {
      const queryId = QUERY_UPLOAD_PATH.exec(pathname)![1]!;
      void this.upload(req, socket, head, queryId);
    });
    this.sessions.setHostCloser(async (hostId, reason, message) => {
      const mine = [...this.connections].filter((c) => c.hostId === hostId);
      await Promise.allSettled(mine.map((c) => c.close(reason, message)));
    });
    const intervalMs = this.config.heartbeatIntervalS * 1000;
    this.heartbeatTimer = setInterval(() => this.checkHeartbeats(), Math.max(100, intervalMs / 2));
    this.heartbeatTimer.unref();
  }

  /** Records every live agent as disconnected (server_shutdown) and closes the sockets; call before the store closes. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await Promise.allSettled(
      [...this.connections].map((c) => c.close('server_shutdown', 'control plane shutting down')),
    );
    this.wss?.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.shutdown();
  }

  /**
   * The host an agent's upgrade request authenticates as (its Bearer
   * credential, not revoked); null after refusing the upgrade with the reason.
   */
  private async agentHost(req: IncomingMessage, socket: Duplex): Promise<string | null> {
    if (this.shuttingDown) {
      rejectUpgrade(socket, 503, 'control plane is shutting down');
      return null;
    }
    let hostId: string | null = null;
    try {
      hostId = (await this.credentials.verifyBearer(req.headers.authorization))?.hostId ?? null;
    } catch (err) {
      this.logger.error({ err }, 'agent credential check failed');
      rejectUpgrade(socket, 503, 'cannot check credentials right now');
      return null;
    }
    // Our own state also knows revocations, in case the auth state has not applied HostRevoked yet.
    if (hostId === null || this.fleet.state.hosts.get(hostId)?.revoked) {
      rejectUpgrade(socket, 401, 'missing, invalid or revoked agent credentials', {
        'WWW-Authenticate': 'Bearer',
      });
      return null;
    }
    return hostId;
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const hostId = await this.agentHost(req, socket);
    if (hostId === null) return;
    this.wss!.handleUpgrade(req, socket, head, (ws) => {
      const connection = new AgentConnection(ws, hostId, this.deps);
      this.connections.add(connection);
    });
  }

  /**
   * A query's upload: the agent's credential (as for the socket) and the
   * query's one-time token in `X-Query-Token` (a header, never the URL);
   * then `101` and the socket carries restic's raw output.
   */
  private async upload(req: IncomingMessage, socket: Duplex, head: Buffer, queryId: string): Promise<void> {
    if (this.shuttingDown) {
      rejectUpgrade(socket, 503, 'control plane is shutting down');
      return;
    }
    if (String(req.headers.upgrade ?? '').toLowerCase() !== QUERY_UPLOAD_PROTOCOL) {
      rejectUpgrade(socket, 400, `expected Upgrade: ${QUERY_UPLOAD_PROTOCOL}`);
      return;
    }
    const hostId = await this.agentHost(req, socket);
    if (hostId === null) return;
    const token = req.headers['x-query-token'];
    const refused = this.queries.checkUpload(queryId, hostId, typeof token === 'string' ? token : undefined);
    if (refused) {
      rejectUpgrade(socket, refused.status, refused.message);
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${QUERY_UPLOAD_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`,
    );
    this.queries.attachUpload(queryId, socket, head);
  }

  private async hello(connection: AgentConnection, message: WireMessageOf<'hello'>): Promise<void> {
    const hostId = connection.hostId;
    const previous = this.sessions.get(hostId);
    if (previous && previous !== connection)
      await previous.close('replaced', 'replaced by a newer connection of this host');
    const [outcome] = await this.messages.ingest(hostId, [message], new Date().toISOString());
    if (!outcome?.ok)
      throw new Error(`AgentConnected could not be appended: ${outcome?.error.message ?? 'unknown'}`);
    if (connection.closeReason) return;
    const displaced = this.sessions.set(connection);
    if (displaced) await displaced.close('replaced', 'replaced by a newer connection of this host');
    this.logger.log(
      {
        host_id: hostId,
        protocol_version: connection.protocolVersion,
        agent_version: message.payload.agent_version,
      },
      'agent connected',
    );
    // Order matters to the agent: repository first, then schedules, then work.
    this.repository.pushConfig(hostId);
    this.schedules.pushSchedules(hostId);
    this.updates.offerOnHello(hostId, message.payload.agent_version);
    void this.jobs
      .resendUnaccepted(hostId)
      .then(() => this.dispatcher.kick())
      .catch((err: unknown) => this.logger.error({ err, host_id: hostId }, 'dispatch after hello failed'));
  }

  /**
   * AgentDisconnected, unless the log shows the host connected through another
   * node since (the agent moved there before this node noticed the socket
   * close: docs/architecture.md, "Several nodes"). Appended at the host
   * stream's exact revision, so a connection recorded meanwhile is seen.
   */
  private async recordDisconnect(connection: AgentConnection, reason: DisconnectReason): Promise<void> {
    const hostId = connection.hostId;
    this.logger.log({ host_id: hostId, reason }, 'agent disconnected');
    try {
      for (let attempt = 1; ; attempt++) {
        const host = this.fleet.state.hosts.get(hostId);
        if (host && host.connectedInLog && host.nodeId !== null && host.nodeId !== this.config.nodeId) return;
        try {
          await this.writer.append(
            hostStream(hostId),
            [
              {
                type: 'AgentDisconnected',
                data: {
                  host_id: hostId,
                  reason,
                  disconnected_at: new Date().toISOString(),
                  node_id: this.config.nodeId,
                },
              },
            ],
            { actor: { kind: 'system', id: 'control-plane' }, correlationId: connection.connectionId },
            host && host.revision >= 0 ? { expectedRevision: host.revision } : {},
          );
          return;
        } catch (err) {
          if (!isEventStoreError(err, 'WrongExpectedVersion') || attempt >= 5) throw err;
          await this.fleet.syncStream(hostStream(hostId));
        }
      }
    } catch (err) {
      if (!isEventStoreError(err, 'Closed'))
        this.logger.error({ err, host_id: hostId }, 'could not record AgentDisconnected');
    }
  }

  private checkHeartbeats(): void {
    const limit = Date.now() - 3 * this.config.heartbeatIntervalS * 1000;
    for (const c of this.connections) {
      if (c.lastSeen < limit) void c.close('heartbeat_timeout', 'no heartbeat for three intervals');
    }
  }
}
