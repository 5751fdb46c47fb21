import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { isRole, type Actor, type Role } from '../core/actor';
import { AuthError } from '../core/auth.errors';
import { AuthSettings } from '../core/auth.settings';
import { IdentityLog } from './identity.log';
import type { ApiTokenRecord } from '../domain/identity.state';
import { API_TOKEN_PREFIX, randomSecret, sha256Hex } from '../core/secret-tokens';

export interface ApiTokenView {
  id: string;
  name: string;
  role: Role;
  created_at: string;
  expires_at: string | null;
  revoked: boolean;
}

export interface CreatedApiToken extends ApiTokenView {
  /** Shown once; only its sha256 is stored. */
  token: string;
}

const mapToken = (t: ApiTokenRecord): ApiTokenView => ({
  id: t.id,
  name: t.name,
  role: t.role,
  created_at: t.createdAt,
  expires_at: t.expiresAt,
  revoked: t.revoked,
});

const MAX_EXPIRY_DAYS = 3650;

@Injectable()
export class ApiTokensService {
  constructor(
    private readonly identity: IdentityLog,
    private readonly settings: AuthSettings,
  ) {}

  list(): ApiTokenView[] {
    return [...this.identity.state.apiTokens.values()]
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map(mapToken);
  }

  async create(
    input: { name: string; role: Role; expiresInDays?: number },
    actor: Actor,
  ): Promise<CreatedApiToken> {
    const now = new Date(this.settings.now());
    const name = input.name.trim();
    if (name === '' || name.length > 128) {
      throw new AuthError('invalid_input', 'name must be 1..128 characters', { field: 'name' });
    }
    if (!isRole(input.role))
      throw new AuthError('invalid_input', 'role must be admin, operator or viewer', { field: 'role' });
    const days = input.expiresInDays;
    if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > MAX_EXPIRY_DAYS)) {
      throw new AuthError('invalid_input', `expires_in_days must be a whole number 1..${MAX_EXPIRY_DAYS}`, {
        field: 'expires_in_days',
      });
    }
    const id = randomUUID();
    const token = `${API_TOKEN_PREFIX}${randomSecret()}`;
    const expiresAt = days === undefined ? null : new Date(now.getTime() + days * 86_400_000).toISOString();
    await this.identity.append(
      `token-${id}`,
      [
        {
          type: 'ApiTokenCreated',
          data: {
            token_id: id,
            name,
            role: input.role,
            token_hash: sha256Hex(token),
            created_by: actor.id,
            ...(expiresAt === null ? {} : { expires_at: expiresAt }),
          },
        },
      ],
      actor,
      { expectedRevision: 'no_stream' },
    );
    const record = this.identity.state.apiTokens.get(id);
    if (!record) throw new Error(`token ${id} was appended but is not in the identity state`);
    return { ...mapToken(record), token };
  }

  async revoke(id: string, actor: Actor): Promise<void> {
    const token = this.identity.state.apiTokens.get(id);
    if (!token) throw new AuthError('not_found', `token ${id} not found`, { field: 'id' });
    if (token.revoked) return;
    await this.identity.append(
      `token-${id}`,
      [{ type: 'ApiTokenRevoked', data: { token_id: id, revoked_at: new Date().toISOString() } }],
      actor,
    );
  }

  /** The actor for a presented `rf_…` token, or null when unknown, revoked or expired. */
  authenticate(token: string): Actor | null {
    if (!token.startsWith(API_TOKEN_PREFIX)) return null;
    // A lookup by the sha256 of a 256-bit secret leaks nothing useful through timing.
    const record = this.identity.state.apiTokenByHash(sha256Hex(token));
    if (!record || record.revoked) return null;
    // A token acts for whoever made it: disabling that user disables their tokens too.
    if (record.createdBy !== null && this.identity.state.users.get(record.createdBy)?.disabled) return null;
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= this.settings.now()) return null;
    return { kind: 'user', id: `token:${record.id}`, name: record.name, role: record.role };
  }
}
