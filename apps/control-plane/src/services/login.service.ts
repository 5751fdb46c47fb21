import { Injectable } from '@nestjs/common';
import type { Actor } from '../core/actor';
import { AuthError } from '../core/auth.errors';
import { AuthSettings } from '../core/auth.settings';
import { IdentityLog } from './identity.log';
import type { UserRecord } from '../domain/identity.state';
import { PasswordHasher } from '../repositories/password.hasher';
import { randomSecret } from '../core/secret-tokens';
import { SlidingWindowLimiter } from '../core/rate-limiter';
import { SessionService, type NewSession } from './session.service';

/** Stream for failed logins whose username matches nobody; `user-` keeps it in the identity/audit family. */
export const UNKNOWN_USER_STREAM = 'user-unknown';

/** How long a login waits to see failures other nodes recorded for the same user. */
const CATCH_UP_MS = 2000;

export interface LoginResult {
  user: UserRecord;
  session: NewSession;
}

/**
 * Password login with a failure budget per username and per client address.
 * Over budget, even a correct password is refused until the window moves on,
 * so guessing cannot continue at full speed. Failures are counted from the
 * log (`UserLoginFailed`), so the budget holds across every node; only
 * usernames that match nobody (never written to the log) are counted here alone.
 */
@Injectable()
export class LoginService {
  /** Usernames that match nobody: not in the log, so counted per node. */
  private readonly unknownUsers: SlidingWindowLimiter;
  /** Verified against when the username is unknown, so both paths cost one argon2 verification. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly identity: IdentityLog,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly settings: AuthSettings,
  ) {
    this.unknownUsers = new SlidingWindowLimiter(
      settings.loginFailuresPerUser,
      settings.rateWindowMs,
      settings.now,
    );
    this.dummyHash = hasher.hash(randomSecret());
  }

  async login(username: string, password: string, clientIp: string): Promise<LoginResult> {
    const userKey = username.toLowerCase();
    const known = this.identity.state.userByName(username);
    // Failures another node recorded for this user count at once, not after this node's next poll of the log.
    if (known) await this.identity.catchUpWith(`user-${known.id}`, CATCH_UP_MS).catch(() => undefined);
    const retryMs = Math.max(
      this.unknownUsers.retryAfterMs(userKey),
      this.retryAfterMs('user', userKey, this.settings.loginFailuresPerUser),
      this.retryAfterMs('client', clientIp, this.settings.loginFailuresPerIp),
    );
    if (retryMs > 0) {
      throw new AuthError('rate_limited', 'too many failed login attempts; try again later', {
        retryAfterS: Math.ceil(retryMs / 1000),
      });
    }
    const user = this.identity.state.userByName(username);
    const passwordOk = await this.hasher.verify(user?.passwordHash || (await this.dummyHash), password);
    if (!user || !passwordOk || user.disabled) {
      if (!user) this.unknownUsers.record(userKey);
      const reason = !user ? 'unknown_user' : !passwordOk ? 'wrong_password' : 'disabled';
      // An unknown "username" is often a password typed into the wrong field: never store it.
      await this.identity.append(
        user ? `user-${user.id}` : UNKNOWN_USER_STREAM,
        [
          {
            type: 'UserLoginFailed',
            data: { username: user?.username ?? '', reason, at: new Date(this.settings.now()).toISOString() },
          },
        ],
        systemActor(clientIp),
      );
      throw new AuthError('invalid_credentials', 'invalid username or password');
    }
    const actor: Actor = { kind: 'user', id: user.id, name: user.username, role: user.role };
    const session = this.sessions.create(user.id);
    await this.identity.append(
      `user-${user.id}`,
      [
        {
          type: 'UserLoggedIn',
          data: {
            user_id: user.id,
            at: new Date(this.settings.now()).toISOString(),
            session_id_hash: session.idHash,
            session_expires_at: new Date(session.expiresAt).toISOString(),
          },
        },
      ],
      actor,
    );
    return { user, session };
  }

  /** Milliseconds until `key` may try again by the log's count of failures, or 0. */
  private retryAfterMs(kind: 'user' | 'client', key: string, limit: number): number {
    const now = this.settings.now();
    const recent = this.identity.state.loginFailures.since(kind, key, now - this.settings.rateWindowMs);
    if (recent.length < limit) return 0;
    return Math.max(1, recent[recent.length - limit]! + this.settings.rateWindowMs - now);
  }
}

const systemActor = (clientIp: string): Actor => ({ kind: 'system', id: 'login', name: clientIp });
