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

export interface LoginResult {
  user: UserRecord;
  session: NewSession;
}

/**
 * Password login with a failure budget per username and per client address.
 * Over budget, even a correct password is refused until the window moves on,
 * so guessing cannot continue at full speed.
 */
@Injectable()
export class LoginService {
  private readonly byUser: SlidingWindowLimiter;
  private readonly byIp: SlidingWindowLimiter;
  /** Verified against when the username is unknown, so both paths cost one argon2 verification. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly identity: IdentityLog,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    settings: AuthSettings,
  ) {
    this.byUser = new SlidingWindowLimiter(
      settings.loginFailuresPerUser,
      settings.rateWindowMs,
      settings.now,
    );
    this.byIp = new SlidingWindowLimiter(settings.loginFailuresPerIp, settings.rateWindowMs, settings.now);
    this.dummyHash = hasher.hash(randomSecret());
  }

  async login(username: string, password: string, clientIp: string): Promise<LoginResult> {
    const userKey = username.toLowerCase();
    const retryMs = Math.max(this.byUser.retryAfterMs(userKey), this.byIp.retryAfterMs(clientIp));
    if (retryMs > 0) {
      throw new AuthError('rate_limited', 'too many failed login attempts; try again later', {
        retryAfterS: Math.ceil(retryMs / 1000),
      });
    }
    const user = this.identity.state.userByName(username);
    const passwordOk = await this.hasher.verify(user?.passwordHash || (await this.dummyHash), password);
    if (!user || !passwordOk || user.disabled) {
      this.byUser.record(userKey);
      this.byIp.record(clientIp);
      const reason = !user ? 'unknown_user' : !passwordOk ? 'wrong_password' : 'disabled';
      // An unknown "username" is often a password typed into the wrong field: never store it.
      await this.identity.append(
        user ? `user-${user.id}` : UNKNOWN_USER_STREAM,
        [
          {
            type: 'UserLoginFailed',
            data: { username: user?.username ?? '', reason, at: new Date().toISOString() },
          },
        ],
        systemActor(clientIp),
      );
      throw new AuthError('invalid_credentials', 'invalid username or password');
    }
    this.byUser.reset(userKey);
    const actor: Actor = { kind: 'user', id: user.id, name: user.username, role: user.role };
    await this.identity.append(
      `user-${user.id}`,
      [{ type: 'UserLoggedIn', data: { user_id: user.id, at: new Date().toISOString() } }],
      actor,
    );
    return { user, session: this.sessions.create(user.id) };
  }
}

const systemActor = (clientIp: string): Actor => ({ kind: 'system', id: 'login', name: clientIp });
