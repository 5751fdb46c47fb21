import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { AuthSettings } from '../core/auth.settings';
import { randomSecret, sha256Hex } from '../core/secret-tokens';
import { SessionRepository } from '../repositories/session.repository';

export interface NewSession {
  /** The cookie value; only its sha256 is stored. */
  sessionId: string;
  csrfToken: string;
  expiresAt: number;
}

export interface ActiveSession {
  userId: string;
  csrfToken: string;
  expiresAt: number;
}

const PURGE_INTERVAL_MS = 10 * 60 * 1000;

/** Browser sessions with idle and absolute expiry, persisted so a restart does not log everyone out. */
@Injectable()
export class SessionService implements OnModuleDestroy {
  private readonly purgeTimer: NodeJS.Timeout;

  constructor(
    private readonly repo: SessionRepository,
    private readonly settings: AuthSettings,
  ) {
    this.purgeTimer = setInterval(() => this.purge(), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  create(userId: string): NewSession {
    const now = this.settings.now();
    const session = {
      sessionId: randomSecret(),
      csrfToken: randomSecret(),
      expiresAt: now + this.settings.sessionAbsoluteMs,
    };
    this.repo.insert({
      idHash: sha256Hex(session.sessionId),
      userId,
      csrfToken: session.csrfToken,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: session.expiresAt,
    });
    return session;
  }

  /** The live session for a cookie value, refreshing its idle timer; null when unknown or expired. */
  resolve(sessionId: string): ActiveSession | null {
    const idHash = sha256Hex(sessionId);
    const row = this.repo.find(idHash);
    if (!row) return null;
    const now = this.settings.now();
    if (row.expiresAt <= now || row.lastSeenAt + this.settings.sessionIdleMs <= now) {
      this.repo.delete(idHash);
      return null;
    }
    if (now - row.lastSeenAt >= this.settings.sessionTouchIntervalMs) this.repo.touch(idHash, now);
    return { userId: row.userId, csrfToken: row.csrfToken, expiresAt: row.expiresAt };
  }

  destroy(sessionId: string): void {
    this.repo.delete(sha256Hex(sessionId));
  }

  destroyForUser(userId: string): void {
    this.repo.deleteForUser(userId);
  }

  purge(): number {
    return this.repo.purgeExpired(this.settings.now(), this.settings.sessionIdleMs);
  }

  onModuleDestroy(): void {
    clearInterval(this.purgeTimer);
    this.repo.close();
  }
}
