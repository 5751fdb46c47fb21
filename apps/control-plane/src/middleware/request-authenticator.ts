import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AppConfig } from '../core/app-config';
import { ApiTokensService } from '../services/api-tokens.service';
import type { Actor } from '../core/actor';
import { readCookie, SEEN_COOKIE, SESSION_COOKIE } from './auth.cookies';
import { IdentityLog } from '../services/identity.log';
import { SessionService } from '../services/session.service';

export interface Authenticated {
  actor: Actor;
  /** How the caller proved itself; only `session` callers need CSRF tokens. */
  via: 'session' | 'api_token';
  /** The session's CSRF token (session callers only). */
  csrfToken?: string;
  /** A refreshed signed last-seen value for the response's `rf_seen` cookie, when due. */
  seen?: { value: string; expiresAt: number };
}

/**
 * Who is calling, from a bearer API token or a session cookie. Shared by the
 * global guard and by WebSocket upgrades (live log tail), which Nest guards do
 * not see. A request that presents an Authorization header is judged by it
 * alone, so a bad token never falls back to a cookie.
 */
@Injectable()
export class RequestAuthenticator {
  private readonly publicOrigin: string;

  constructor(
    private readonly identity: IdentityLog,
    private readonly sessions: SessionService,
    private readonly apiTokens: ApiTokensService,
    config: AppConfig,
  ) {
    this.publicOrigin = new URL(config.publicUrl).origin;
  }

  async authenticate(req: IncomingMessage): Promise<Authenticated | null> {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
      const actor = m ? this.apiTokens.authenticate(m[1]!) : null;
      return actor ? { actor, via: 'api_token' } : null;
    }
    const sessionId = readCookie(req, SESSION_COOKIE);
    if (!sessionId) return null;
    const session = await this.sessions.resolve(sessionId, readCookie(req, SEEN_COOKIE));
    if (!session) return null;
    const user = this.identity.state.users.get(session.userId);
    if (!user || user.disabled) return null;
    return {
      actor: { kind: 'user', id: user.id, name: user.username, role: user.role },
      via: 'session',
      csrfToken: session.csrfToken,
      ...(session.seen !== undefined ? { seen: { value: session.seen, expiresAt: session.expiresAt } } : {}),
    };
  }

  /**
   * For a browser WebSocket upgrade: like `authenticate`, but a cookie only
   * counts when the page that opened the socket is ours (Origin is
   * RF_PUBLIC_URL's or the Host the request was sent to), which stops
   * cross-site WebSocket hijacking.
   */
  async authenticateUpgrade(req: IncomingMessage): Promise<Authenticated | null> {
    const result = await this.authenticate(req);
    if (!result || result.via !== 'session') return result;
    return req.headers.origin !== undefined && this.isOwnOrigin(req) ? result : null;
  }

  /** True when the request carries no Origin (not a browser) or our own: RF_PUBLIC_URL's or the Host it was sent to. */
  isOwnOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    const host = req.headers.host;
    return (
      origin === this.publicOrigin ||
      (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`))
    );
  }
}
