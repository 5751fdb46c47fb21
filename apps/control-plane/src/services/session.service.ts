import { Injectable, Logger } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import type { Actor } from '../core/actor';
import { AuthSettings } from '../core/auth.settings';
import { SecretBox } from '../core/secret-box';
import { randomSecret, safeEqual, sha256Hex } from '../core/secret-tokens';
import { IdentityLog } from './identity.log';

export interface NewSession {
  /** The cookie value, `<userId>.<random>.<tag>`; only its sha256 is stored (in the log). */
  readonly sessionId: string;
  readonly idHash: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export interface ActiveSession {
  readonly userId: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
  /** A fresh signed last-seen value for the `rf_seen` cookie, when it is due. */
  readonly seen?: string;
}

/** How long a node waits for a login made on another node to reach it. */
const OTHER_NODE_LOGIN_WAIT_MS = 3000;
const LOCAL_SEEN_LIMIT = 50_000;
/** Length of the tag that proves a cookie value was made by a node of this installation. */
const TAG_LENGTH = 22;

/**
 * Browser sessions shared by every node (docs/architecture.md, "Several
 * nodes"): a login is `UserLoggedIn` with the hash of the cookie value and its
 * expiry, a logout `UserLoggedOut`; a password change or disabling the user
 * ends all of theirs. Any node folds them into the identity state, so a
 * session made on one node works on the next. Nothing else is stored:
 * - the CSRF token is an HMAC of the session id under a key derived from the
 *   secret key, so every node computes the same one;
 * - the idle timer rides in a signed `rf_seen` cookie (this node also
 *   remembers what it saw), so it holds whichever node answers.
 */
@Injectable()
export class SessionService {
  private readonly logger = new Logger(SessionService.name);
  private readonly key: Buffer;
  /** idHash → last request this node saw. */
  private readonly seenHere = new Map<string, number>();

  constructor(
    private readonly identity: IdentityLog,
    private readonly settings: AuthSettings,
    box: SecretBox,
  ) {
    this.key = box.derive('browser sessions');
  }

  /** New session material for `userId`; the login records it in the log. */
  create(userId: string): NewSession {
    const now = this.settings.now();
    const base = `${userId}.${randomSecret()}`;
    const sessionId = `${base}.${this.tag(base)}`;
    const idHash = sha256Hex(sessionId);
    this.remember(idHash, now);
    return {
      sessionId,
      idHash,
      csrfToken: this.mac(`csrf:${sessionId}`),
      expiresAt: now + this.settings.sessionAbsoluteMs,
    };
  }

  /** The live session for a cookie value; null when unknown, ended or expired. */
  async resolve(sessionId: string, seenCookie?: string): Promise<ActiveSession | null> {
    const idHash = sha256Hex(sessionId);
    let session = this.identity.state.sessions.get(idHash);
    if (!session) {
      // Maybe a login on another node this one has not applied yet. Only a
      // value some node made (its tag checks out) is worth a read of the log:
      // a made-up cookie is refused without touching the store.
      const userId = this.madeHere(sessionId);
      if (userId === null) return null;
      try {
        await this.identity.catchUpWith(`user-${userId}`, OTHER_NODE_LOGIN_WAIT_MS);
      } catch (err) {
        this.logger.warn({ err }, 'could not catch up with the log to check a session');
        return null;
      }
      session = this.identity.state.sessions.get(idHash);
      if (!session) return null;
    }
    const now = this.settings.now();
    if (session.expiresAt <= now) return null;
    const lastSeen = Math.max(
      session.createdAt,
      this.seenHere.get(idHash) ?? 0,
      this.seenIn(seenCookie, idHash),
    );
    if (lastSeen + this.settings.sessionIdleMs <= now) return null;
    const due = now - lastSeen >= this.settings.sessionTouchIntervalMs;
    if (due) this.remember(idHash, now);
    return {
      userId: session.userId,
      csrfToken: this.mac(`csrf:${sessionId}`),
      expiresAt: session.expiresAt,
      ...(due ? { seen: this.signSeen(idHash, now) } : {}),
    };
  }

  /** Ends the session on every node (log out). */
  async destroy(sessionId: string, actor: Actor): Promise<void> {
    const idHash = sha256Hex(sessionId);
    const session = this.identity.state.sessions.get(idHash);
    this.seenHere.delete(idHash);
    if (!session) return;
    await this.identity.append(
      `user-${session.userId}`,
      [
        {
          type: 'UserLoggedOut',
          data: {
            user_id: session.userId,
            session_id_hash: idHash,
            at: new Date(this.settings.now()).toISOString(),
          },
        },
      ],
      actor,
    );
  }

  /** The user id of a cookie value whose tag is valid, else null. */
  private madeHere(sessionId: string): string | null {
    const last = sessionId.lastIndexOf('.');
    const base = sessionId.slice(0, Math.max(0, last));
    const userId = base.slice(0, Math.max(0, base.indexOf('.')));
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(userId)) return null;
    return safeEqual(sessionId.slice(last + 1), this.tag(base)) ? userId : null;
  }

  private tag(base: string): string {
    return this.mac(`session:${base}`).slice(0, TAG_LENGTH);
  }

  /** Signed `<ms>.<mac>` for the `rf_seen` cookie. */
  private signSeen(idHash: string, at: number): string {
    return `${at}.${this.mac(`seen:${idHash}:${at}`)}`;
  }

  /** The time in a valid `rf_seen` value for this session, else 0. */
  private seenIn(cookie: string | undefined, idHash: string): number {
    if (!cookie) return 0;
    const dot = cookie.indexOf('.');
    const at = Number(cookie.slice(0, dot));
    if (dot < 1 || !Number.isSafeInteger(at)) return 0;
    return safeEqual(cookie.slice(dot + 1), this.mac(`seen:${idHash}:${at}`)) ? at : 0;
  }

  private remember(idHash: string, at: number): void {
    this.seenHere.set(idHash, at);
    if (this.seenHere.size > LOCAL_SEEN_LIMIT) {
      for (const hash of this.seenHere.keys())
        if (!this.identity.state.sessions.has(hash)) this.seenHere.delete(hash);
    }
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text, 'utf8').digest('base64url');
  }
}
