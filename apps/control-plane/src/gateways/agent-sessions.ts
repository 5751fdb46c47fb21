import { Injectable } from '@nestjs/common';
import type { DisconnectReason } from '@rf/events';
import type { AgentDispatch } from '../core/agent-dispatch.port';

/** One authenticated agent socket, as the command side sees it (no socket API leaks out). */
export interface AgentSession {
  readonly hostId: string;
  readonly connectionId: string;
  readonly connectedAt: number;
  /** ms since epoch of the last message of any kind. */
  lastSeen: number;
  /** What the agent announced in its hello (`repositories`, `queries`, …). */
  readonly capabilities: ReadonlySet<string>;
  /** Sends a server→agent envelope (already validated); false when the socket is not open. */
  send(envelope: object): boolean;
  /** Closes the socket at once and records why (AgentDisconnected.reason); resolves once recorded. */
  close(reason: DisconnectReason, message: string): Promise<void>;
}

/**
 * The live agent connections by host (at most one each). An agent is online
 * here only after a successful `hello`. Services reach it through the
 * `AgentDispatch` port (bound in app.module.ts): they send orders and read
 * `lastSeen` and `isOnline` for the hosts page instead of waiting for the read model.
 */
@Injectable()
export class AgentSessions implements AgentDispatch {
  private readonly byHost = new Map<string, AgentSession>();
  private closer: ((hostId: string, reason: DisconnectReason, message: string) => Promise<void>) | undefined;

  /** The gateway registers how to close every socket of a host, including ones that have not said hello yet. */
  setHostCloser(fn: (hostId: string, reason: DisconnectReason, message: string) => Promise<void>): void {
    this.closer = fn;
  }

  /** Closes every socket of the host (revocation). */
  async closeHost(hostId: string, reason: DisconnectReason, message: string): Promise<void> {
    if (this.closer) await this.closer(hostId, reason, message);
    else await this.byHost.get(hostId)?.close(reason, message);
  }

  get(hostId: string): AgentSession | undefined {
    return this.byHost.get(hostId);
  }

  isOnline(hostId: string): boolean {
    return this.byHost.has(hostId);
  }

  connectedHosts(): Iterable<string> {
    return this.byHost.keys();
  }

  lastSeen(hostId: string): Date | null {
    const s = this.byHost.get(hostId);
    return s ? new Date(s.lastSeen) : null;
  }

  get count(): number {
    return this.byHost.size;
  }

  all(): AgentSession[] {
    return [...this.byHost.values()];
  }

  /** Registers `session` as the host's connection; returns the one it replaces. */
  set(session: AgentSession): AgentSession | undefined {
    const previous = this.byHost.get(session.hostId);
    this.byHost.set(session.hostId, session);
    return previous === session ? undefined : previous;
  }

  /** Removes `session` if it is still the host's current one; true when it was. */
  remove(session: AgentSession): boolean {
    if (this.byHost.get(session.hostId) !== session) return false;
    this.byHost.delete(session.hostId);
    return true;
  }

  send(hostId: string, envelope: object): boolean {
    return this.byHost.get(hostId)?.send(envelope) ?? false;
  }
}
