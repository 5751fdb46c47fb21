import type { DisconnectReason, Envelope } from '@rf/events';

/** The orders the control plane gives an agent (docs/architecture.md, "Wire protocol"), and update offers. */
export type AgentOrder =
  | Envelope<'command.run'>
  | Envelope<'command.cancel'>
  | Envelope<'config.update'>
  | Envelope<'schedule.set'>
  | Envelope<'agent.update_available'>;

/** One agent's live connection, as an order sender sees it. */
export interface AgentLink {
  /** False when the socket is no longer open. */
  send(order: AgentOrder): boolean;
}

/**
 * What services need from the agents' sockets: send orders, know who is
 * online, and disconnect a revoked host. The agent gateway implements it; the
 * composition root (app.module.ts) binds it, so services never import gateways/.
 */
export interface AgentDispatch {
  /** The host's connection after its hello, for several orders to that one socket. */
  get(hostId: string): AgentLink | undefined;
  /** Sends to the host's current connection; false when it is offline. */
  send(hostId: string, order: AgentOrder): boolean;
  /** Whether this node holds the host's socket (another node may hold it: see `FleetPresence`). */
  isOnline(hostId: string): boolean;
  /** The hosts whose socket this node holds. */
  connectedHosts(): Iterable<string>;
  /** When the host's connected agent last sent anything; null when offline. */
  lastSeen(hostId: string): Date | null;
  /** Closes every socket of the host and records why; resolves once recorded. */
  closeHost(hostId: string, reason: DisconnectReason, message: string): Promise<void>;
}

export const AGENT_DISPATCH = Symbol.for('restic-fleet.control-plane.AgentDispatch');
