import { comparePositions, recordedTime, type Position, type RecordedEvent } from '@rf/events';
import { isRole, type Role } from '../core/actor';

export interface UserRecord {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly createdAt: string;
  /** Stream revision of `user-{id}`, for appends that must not race. */
  readonly revision: number;
}

export interface ApiTokenRecord {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly tokenHash: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly createdBy: string | null;
  /** The kind of actor that created it (event metadata): `user` for a user or one of their tokens. */
  readonly createdByKind: string | null;
  readonly revoked: boolean;
}

export interface EnrolmentTokenRecord {
  readonly id: string;
  readonly tokenHash: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly usedByHost: string | null;
  readonly revoked: boolean;
  readonly revision: number;
}

export interface HostCredentialRecord {
  readonly hostId: string;
  readonly hostname: string;
  readonly secretHash: string;
  readonly revoked: boolean;
}

/** A browser session opened by a login on any node (only the hash of its cookie value). */
export interface SessionRecord {
  readonly idHash: string;
  readonly userId: string;
  /** Epoch ms, from the login event. */
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** How many failed logins per key the state remembers; more than any budget. */
const FAILURES_KEPT = 64;
/** Failures older than this are forgotten (longer than any window). */
const FAILURES_KEPT_MS = 24 * 60 * 60 * 1000;

/**
 * Recent failed logins by username and by client address, from the log, so
 * every node counts every node's failures (docs/architecture.md, "Several
 * nodes"). Times are the events'; bounded per key and by age.
 */
export class LoginFailures {
  readonly byUser = new Map<string, number[]>();
  readonly byClient = new Map<string, number[]>();

  record(userKey: string | undefined, client: string | undefined, at: number): void {
    if (userKey) push(this.byUser, userKey, at);
    if (client) push(this.byClient, client, at);
    if (this.byUser.size + this.byClient.size > 10_000) {
      forget(this.byUser, at - FAILURES_KEPT_MS);
      forget(this.byClient, at - FAILURES_KEPT_MS);
    }
  }

  clearUser(userKey: string): void {
    this.byUser.delete(userKey);
  }

  /** Failure times after `cutoff`, oldest first. */
  since(kind: 'user' | 'client', key: string, cutoff: number): number[] {
    return ((kind === 'user' ? this.byUser : this.byClient).get(key) ?? []).filter((t) => t > cutoff);
  }
}

function push(map: Map<string, number[]>, key: string, at: number): void {
  const list = map.get(key) ?? [];
  list.push(at);
  if (list.length > FAILURES_KEPT) list.splice(0, list.length - FAILURES_KEPT);
  map.set(key, list);
}

function forget(map: Map<string, number[]>, cutoff: number): void {
  for (const [key, list] of map) if ((list[list.length - 1] ?? 0) <= cutoff) map.delete(key);
}

/**
 * Everything authentication needs, folded from the `user-`, `token-`,
 * `enrolment-` and `host-` streams. Small (one entry per user, token and
 * host), so it lives in memory, restored from its snapshot at boot and kept
 * current from the log. Idempotent: an event at or before the last applied
 * position is ignored.
 */
export class IdentityState {
  readonly users = new Map<string, UserRecord>();
  readonly apiTokens = new Map<string, ApiTokenRecord>();
  readonly enrolmentTokens = new Map<string, EnrolmentTokenRecord>();
  readonly hosts = new Map<string, HostCredentialRecord>();
  /** Open browser sessions by the hash of their cookie value; ended by logout, password change or disabling the user. */
  readonly sessions = new Map<string, SessionRecord>();
  /** Not part of the snapshot: limits restart with the process, as they always did. */
  readonly loginFailures = new LoginFailures();
  private readonly apiTokenIdsByHash = new Map<string, string>();
  position: Position | null = null;

  userByName(username: string): UserRecord | undefined {
    const wanted = username.toLowerCase();
    for (const user of this.users.values()) if (user.username.toLowerCase() === wanted) return user;
    return undefined;
  }

  apiTokenByHash(hash: string): ApiTokenRecord | undefined {
    const id = this.apiTokenIdsByHash.get(hash);
    return id === undefined ? undefined : this.apiTokens.get(id);
  }

  /** Folds one recorded event; a replay of one already applied (same or older position) is ignored. */
  apply(event: RecordedEvent): void {
    if (this.position !== null && comparePositions(event.position, this.position) <= 0) return;
    this.position = event.position;
    const d = asRecord(event.data);
    const at = recordedTime(event).toISOString();
    switch (event.type) {
      case 'UserCreated': {
        const id = str(d.user_id) ?? idFromStream(event.streamId, 'user-');
        const role = d.role;
        if (!id || !isRole(role)) return;
        this.users.set(id, {
          id,
          username: str(d.username) ?? id,
          role,
          passwordHash: str(d.password_hash) ?? '',
          disabled: false,
          createdAt: at,
          revision: event.revision,
        });
        return;
      }
      case 'UserRoleChanged':
        return this.updateUser(event, (u) => (isRole(d.role) ? { ...u, role: d.role } : u));
      case 'UserPasswordChanged':
        this.endSessionsOf(event);
        return this.updateUser(event, (u) => ({
          ...u,
          passwordHash: str(d.password_hash) ?? u.passwordHash,
        }));
      case 'UserDisabled':
        this.endSessionsOf(event);
        return this.updateUser(event, (u) => ({ ...u, disabled: true }));
      case 'UserLoggedIn': {
        const userId = str(d.user_id) ?? idFromStream(event.streamId, 'user-');
        const user = userId ? this.users.get(userId) : undefined;
        if (user) this.loginFailures.clearUser(user.username.toLowerCase());
        const idHash = str(d.session_id_hash);
        const expiresAt = Date.parse(str(d.session_expires_at) ?? '');
        if (!userId || !idHash || Number.isNaN(expiresAt)) return;
        const createdAt = timeOf(d.at, event);
        for (const [hash, s] of this.sessions) if (s.expiresAt <= createdAt) this.sessions.delete(hash);
        this.sessions.set(idHash, { idHash, userId, createdAt, expiresAt });
        return;
      }
      case 'UserLoggedOut': {
        const idHash = str(d.session_id_hash);
        if (idHash) this.sessions.delete(idHash);
        return;
      }
      case 'UserLoginFailed': {
        const username = str(d.username);
        const actor = asRecord(asRecord(event.metadata).actor);
        // The login service records the client address as the system actor's name.
        const client = actor.id === 'login' ? str(actor.name) : undefined;
        this.loginFailures.record(username?.toLowerCase(), client, timeOf(d.at, event));
        return;
      }
      case 'UserEnabled':
        return this.updateUser(event, (u) => ({ ...u, disabled: false }));
      case 'ApiTokenCreated': {
        const id = str(d.token_id) ?? idFromStream(event.streamId, 'token-');
        const hash = str(d.token_hash);
        if (!id || !hash || !isRole(d.role)) return;
        this.apiTokens.set(id, {
          id,
          name: str(d.name) ?? id,
          role: d.role,
          tokenHash: hash,
          createdAt: at,
          expiresAt: str(d.expires_at) ?? null,
          createdBy: str(d.created_by) ?? null,
          createdByKind: str(asRecord(asRecord(event.metadata).actor).kind) ?? null,
          revoked: false,
        });
        this.indexApiToken(this.apiTokens.get(id)!);
        return;
      }
      case 'ApiTokenRevoked': {
        const id = str(d.token_id) ?? idFromStream(event.streamId, 'token-');
        const token = id ? this.apiTokens.get(id) : undefined;
        if (token) this.apiTokens.set(token.id, { ...token, revoked: true });
        return;
      }
      case 'EnrolmentTokenCreated': {
        const id = str(d.token_id) ?? idFromStream(event.streamId, 'enrolment-');
        const hash = str(d.token_hash);
        const expiresAt = str(d.expires_at);
        if (!id || !hash || !expiresAt) return;
        this.enrolmentTokens.set(id, {
          id,
          tokenHash: hash,
          createdAt: at,
          expiresAt,
          usedByHost: null,
          revoked: false,
          revision: event.revision,
        });
        return;
      }
      case 'EnrolmentTokenUsed':
        return this.updateEnrolment(event, (t) => ({ ...t, usedByHost: str(d.host_id) ?? 'unknown' }));
      case 'EnrolmentTokenRevoked':
        return this.updateEnrolment(event, (t) => ({ ...t, revoked: true }));
      case 'HostEnrolled': {
        const hostId = str(d.host_id) ?? idFromStream(event.streamId, 'host-');
        const secretHash = str(d.agent_secret_hash);
        if (!hostId || !secretHash) return;
        this.hosts.set(hostId, { hostId, hostname: str(d.hostname) ?? hostId, secretHash, revoked: false });
        return;
      }
      case 'HostRevoked': {
        const hostId = str(d.host_id) ?? idFromStream(event.streamId, 'host-');
        const host = hostId ? this.hosts.get(hostId) : undefined;
        if (host) this.hosts.set(host.hostId, { ...host, revoked: true });
        return;
      }
      default:
        return;
    }
  }

  /** Makes a token findable by its hash (the fold, and a restored snapshot). */
  indexApiToken(token: ApiTokenRecord): void {
    this.apiTokenIdsByHash.set(token.tokenHash, token.id);
  }

  private endSessionsOf(event: RecordedEvent): void {
    const id = str(asRecord(event.data).user_id) ?? idFromStream(event.streamId, 'user-');
    for (const [hash, s] of this.sessions) if (s.userId === id) this.sessions.delete(hash);
  }

  private updateUser(event: RecordedEvent, change: (user: UserRecord) => UserRecord): void {
    const id = str(asRecord(event.data).user_id) ?? idFromStream(event.streamId, 'user-');
    const user = id ? this.users.get(id) : undefined;
    if (user) this.users.set(user.id, { ...change(user), revision: event.revision });
  }

  private updateEnrolment(
    event: RecordedEvent,
    change: (token: EnrolmentTokenRecord) => EnrolmentTokenRecord,
  ): void {
    const id = str(asRecord(event.data).token_id) ?? idFromStream(event.streamId, 'enrolment-');
    const token = id ? this.enrolmentTokens.get(id) : undefined;
    if (token) this.enrolmentTokens.set(token.id, { ...change(token), revision: event.revision });
  }
}

/** An event's own time field in epoch ms (the command's clock), else when it was stored. */
const timeOf = (value: unknown, event: RecordedEvent): number => {
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(t) ? recordedTime(event).getTime() : t;
};

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

const idFromStream = (streamId: string, prefix: string): string | undefined =>
  streamId.startsWith(prefix) ? streamId.slice(prefix.length) : undefined;
