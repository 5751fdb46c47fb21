import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { isEventStoreError } from '@rf/event-store';
import { AppConfig } from '../core/app-config';
import type { Actor } from '../core/actor';
import { AuthError } from '../core/auth.errors';
import { AuthSettings } from '../core/auth.settings';
import { installCommands } from './install-scripts';
import { IdentityLog } from './identity.log';
import type { EnrolmentTokenRecord } from '../domain/identity.state';
import { SlidingWindowLimiter } from '../core/rate-limiter';
import { ENROLMENT_TOKEN_PREFIX, randomSecret, sha256Hex } from '../core/secret-tokens';
import { HOSTNAME_PATTERN, PLATFORM_PATTERN } from '../domain/identity.rules';

export interface CreatedEnrolmentToken {
  /** For listing and revoking; not a secret. */
  id: string;
  /** Shown once; only its sha256 is stored. */
  token: string;
  expires_at: string;
  /** One line an operator pastes on a new Linux host (the served install.sh). */
  command: string;
  /** The same for Windows (the served install.ps1, in an elevated PowerShell). */
  windows_command: string;
}

export type EnrolmentTokenStatus = 'pending' | 'used' | 'revoked' | 'expired';

export interface EnrolmentTokenView {
  id: string;
  status: EnrolmentTokenStatus;
  created_at: string;
  expires_at: string;
  used_by_host: string | null;
}

export interface EnrolRequest {
  token: string;
  hostname: string;
  os: string;
  arch: string;
}

export interface EnrolResult {
  agent_id: string;
  agent_secret: string;
}

const MAX_EXPIRY_MINUTES = 7 * 24 * 60;

/**
 * One-time, expiring enrolment tokens and the exchange of one for agent
 * credentials. The token's stream revision guards its use: of two concurrent
 * enrolments with the same token exactly one appends EnrolmentTokenUsed.
 */
@Injectable()
export class EnrolmentService {
  private readonly failures: SlidingWindowLimiter;

  constructor(
    private readonly identity: IdentityLog,
    private readonly config: AppConfig,
    private readonly settings: AuthSettings,
  ) {
    this.failures = new SlidingWindowLimiter(
      settings.enrolFailuresPerIp,
      settings.rateWindowMs,
      settings.now,
    );
  }

  async createToken(actor: Actor, expiresInMinutes?: number): Promise<CreatedEnrolmentToken> {
    const minutes = expiresInMinutes ?? this.settings.enrolmentTokenDefaultMinutes;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_EXPIRY_MINUTES) {
      throw new AuthError(
        'invalid_input',
        `expires_in_minutes must be a whole number 1..${MAX_EXPIRY_MINUTES}`,
        {
          field: 'expires_in_minutes',
        },
      );
    }
    const now = this.settings.now();
    const id = randomUUID();
    const token = `${ENROLMENT_TOKEN_PREFIX}${randomSecret()}`;
    const expiresAt = new Date(now + minutes * 60_000).toISOString();
    await this.identity.append(
      `enrolment-${id}`,
      [
        {
          type: 'EnrolmentTokenCreated',
          data: {
            token_id: id,
            token_hash: sha256Hex(token),
            expires_at: expiresAt,
            created_by: actor.id,
          },
        },
      ],
      actor,
      { expectedRevision: 'no_stream' },
    );
    const commands = installCommands(this.config.publicUrl, token);
    return { id, token, expires_at: expiresAt, command: commands.linux, windows_command: commands.windows };
  }

  /** Newest first; never the token itself (only its hash is known). */
  listTokens(): EnrolmentTokenView[] {
    const now = this.settings.now();
    return [...this.identity.state.enrolmentTokens.values()]
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .map((t) => ({
        id: t.id,
        status: t.usedByHost
          ? 'used'
          : t.revoked
            ? 'revoked'
            : Date.parse(t.expiresAt) <= now
              ? 'expired'
              : 'pending',
        created_at: t.createdAt,
        expires_at: t.expiresAt,
        used_by_host: t.usedByHost,
      }));
  }

  async revokeToken(id: string, actor: Actor): Promise<void> {
    const token = this.identity.state.enrolmentTokens.get(id);
    if (!token) throw new AuthError('not_found', `enrolment token ${id} not found`, { field: 'id' });
    if (token.revoked || token.usedByHost) return;
    await this.identity.append(
      `enrolment-${id}`,
      [
        {
          type: 'EnrolmentTokenRevoked',
          data: { token_id: id, revoked_at: new Date(this.settings.now()).toISOString() },
        },
      ],
      actor,
      { expectedRevision: token.revision },
    );
  }

  /** Exchanges a valid token for agent credentials; `clientIp` feeds the failure rate limit. */
  async enrol(input: EnrolRequest, clientIp: string): Promise<EnrolResult> {
    const retryMs = this.failures.retryAfterMs(clientIp);
    if (retryMs > 0) {
      throw new AuthError('rate_limited', 'too many failed enrolment attempts; try again later', {
        retryAfterS: Math.ceil(retryMs / 1000),
      });
    }
    validateEnrolRequest(input);
    const token = this.findUsable(input.token);
    if (!token) {
      this.failures.record(clientIp);
      throw new AuthError(
        'invalid_enrolment_token',
        'enrolment token is unknown, expired, revoked or already used',
        {
          field: 'token',
        },
      );
    }
    const hostId = randomUUID();
    const secret = randomSecret();
    const actor: Actor = { kind: 'agent', id: hostId, name: input.hostname };
    try {
      await this.identity.append(
        `enrolment-${token.id}`,
        [
          {
            type: 'EnrolmentTokenUsed',
            data: {
              token_id: token.id,
              host_id: hostId,
              used_at: new Date(this.settings.now()).toISOString(),
            },
          },
        ],
        actor,
        { expectedRevision: token.revision },
      );
    } catch (err) {
      if (isEventStoreError(err, 'WrongExpectedVersion')) {
        this.failures.record(clientIp);
        throw new AuthError('invalid_enrolment_token', 'enrolment token was already used', {
          field: 'token',
        });
      }
      throw err;
    }
    await this.identity.append(
      `host-${hostId}`,
      [
        {
          type: 'HostEnrolled',
          data: {
            host_id: hostId,
            hostname: input.hostname,
            os: input.os.toLowerCase(),
            arch: input.arch.toLowerCase(),
            agent_secret_hash: sha256Hex(secret),
            enrolment_token_id: token.id,
            enrolled_at: new Date(this.settings.now()).toISOString(),
          },
        },
      ],
      actor,
      { expectedRevision: 'no_stream' },
    );
    return { agent_id: hostId, agent_secret: secret };
  }

  private findUsable(presented: string): EnrolmentTokenRecord | undefined {
    if (!presented.startsWith(ENROLMENT_TOKEN_PREFIX)) return undefined;
    const hash = sha256Hex(presented);
    for (const token of this.identity.state.enrolmentTokens.values()) {
      if (token.tokenHash !== hash) continue;
      const usable = !token.revoked && !token.usedByHost && Date.parse(token.expiresAt) > this.settings.now();
      return usable ? token : undefined;
    }
    return undefined;
  }
}

function validateEnrolRequest(input: EnrolRequest): void {
  const field = (name: keyof EnrolRequest, ok: boolean, rule: string): void => {
    if (!ok) throw new AuthError('invalid_input', `${name} ${rule}`, { field: name });
  };
  field(
    'token',
    typeof input.token === 'string' && input.token.length > 0 && input.token.length <= 200,
    'is required',
  );
  field(
    'hostname',
    typeof input.hostname === 'string' && HOSTNAME_PATTERN.test(input.hostname),
    'must be a host name (letters, digits, . _ -; up to 253 chars)',
  );
  field(
    'os',
    typeof input.os === 'string' && PLATFORM_PATTERN.test(input.os),
    'must be 1..32 letters, digits or _',
  );
  field(
    'arch',
    typeof input.arch === 'string' && PLATFORM_PATTERN.test(input.arch),
    'must be 1..32 letters, digits or _',
  );
}
