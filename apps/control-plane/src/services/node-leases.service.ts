import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { EVENT_STORE, type EventStore, type StreamMetadata } from '@rf/event-store';
import { nodeStream } from '@rf/events';
import { AppConfig } from '../core/app-config';

/** What this node last read of another node's lease. */
export interface LeaseView {
  /** ms since epoch the lease runs until; null when the node never held one (its stream has no lease). */
  readonly expiresAt: number | null;
}

/** The node-lease fields of `node-{id}` stream metadata (`custom`). */
interface LeaseFields {
  readonly node_id: string;
  readonly renewed_at: string;
  readonly expires_at: string;
}

/**
 * This node's lease and what it knows of the others' (docs/architecture.md,
 * "Several nodes"). The lease is the `custom` part of `node-{id}` stream
 * metadata: renewed every third of `RF_NODE_LEASE_S`, given up on a clean
 * stop. Metadata, not events: on EventStoreDB a metastream keeps only its
 * last entry, and no read model replays leases.
 *
 * Other nodes' leases are read when a sweep asks (`refresh`), and only for the
 * nodes the log still shows holding an agent.
 */
@Injectable()
export class NodeLeases implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger(NodeLeases.name);
  private readonly known = new Map<string, LeaseView>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly config: AppConfig,
  ) {}

  get nodeId(): string {
    return this.config.nodeId;
  }

  get leaseMs(): number {
    return this.config.nodeLeaseS * 1000;
  }

  async onModuleInit(): Promise<void> {
    await this.renew();
    this.timer = setInterval(() => {
      this.renew().catch((err: unknown) => this.logger.warn({ err }, 'could not renew the node lease'));
    }, this.leaseMs / 3);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** A clean stop gives the lease up, so other nodes need not wait it out. */
  async onApplicationShutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    try {
      await this.write(Date.now());
    } catch (err) {
      this.logger.warn({ err }, 'could not give up the node lease');
    }
  }

  /** Extends this node's lease by `RF_NODE_LEASE_S` from now. */
  async renew(): Promise<void> {
    if (this.stopped) return;
    await this.write(Date.now() + this.leaseMs);
  }

  private async write(expiresAt: number): Promise<void> {
    const stream = nodeStream(this.nodeId);
    const fields: LeaseFields = {
      node_id: this.nodeId,
      renewed_at: new Date().toISOString(),
      expires_at: new Date(expiresAt).toISOString(),
    };
    await this.store.setStreamMetadata(stream, { maxCount: 1, custom: { lease: fields } });
  }

  /** Reads the leases of `nodeIds` (other nodes) from the log; a failed read keeps what was known. */
  async refresh(nodeIds: Iterable<string>): Promise<void> {
    for (const id of new Set(nodeIds)) {
      if (id === this.nodeId) continue;
      try {
        this.known.set(id, { expiresAt: leaseExpiry(await this.store.getStreamMetadata(nodeStream(id))) });
      } catch (err) {
        this.logger.warn({ err, node_id: id }, 'could not read a node lease');
      }
    }
  }

  /**
   * Whether `nodeId`'s lease has lapsed at `now`, from the last `refresh`:
   * never for this node; always for a node the log names without a lease
   * (null: logs written before nodes had ids); unknown until read is not lapsed.
   */
  lapsed(nodeId: string | null, now = Date.now()): boolean {
    if (nodeId === this.nodeId) return false;
    if (nodeId === null) return true;
    const view = this.known.get(nodeId);
    if (view === undefined) return false;
    return view.expiresAt === null || view.expiresAt <= now;
  }

  /** When `nodeId`'s lease ran out (ms since epoch), as last read; null when unknown or it never held one. */
  expiredAt(nodeId: string): number | null {
    return this.known.get(nodeId)?.expiresAt ?? null;
  }
}

/** The lease's expiry in `node-{id}` metadata; null when there is none or it is malformed. */
export function leaseExpiry(meta: StreamMetadata): number | null {
  const lease = meta.custom?.['lease'];
  if (typeof lease !== 'object' || lease === null) return null;
  const raw = (lease as Record<string, unknown>)['expires_at'];
  if (typeof raw !== 'string') return null;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : at;
}
