import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { isRole, ROLES, type Actor, type Role } from '../core/actor';
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
  /** The role it acts with now (its creator's current role caps it); null when it cannot act. */
  effective_role: Role | null;
}

export interface CreatedApiToken extends ApiTokenView {
  /** Shown once; only its sha256 is stored. */
  token: string;
}

const mapToken = (t: ApiTokenRecord, effectiveRole: Role | null): ApiTokenView => ({
  id: t.id,
  name: t.name,
  role: t.role,
  created_at: t.createdAt,
  expires_at: t.expiresAt,
  revoked: t.revoked,
  effective_role: effectiveRole,
});

const MAX_EXPIRY_DAYS = 3650;
/** A token that is not given an expiry lives a year: long enough for automation, short enough to rot away. */
export const DEFAULT_EXPIRY_DAYS = 365;
/** Tokens that create tokens: beyond this depth the chain is refused rather than walked. */
const MAX_CREATOR_CHAIN = 8;

const lowerRole = (a: Role, b: Role): Role => (ROLES.indexOf(a) <= ROLES.indexOf(b) ? a : b);

@Injectable()
export class ApiTokensService {
  constructor(
    private readonly identity: IdentityLog,
    private readonly settings: AuthSettings,
  ) {}

  list(): ApiTokenView[] {
    return [...this.identity.state.apiTokens.values()]
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((t) => mapToken(t, this.effectiveRole(t, 0)));
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
    const days = input.expiresInDays ?? DEFAULT_EXPIRY_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > MAX_EXPIRY_DAYS) {
      throw new AuthError('invalid_input', `expires_in_days must be a whole number 1..${MAX_EXPIRY_DAYS}`, {
        field: 'expires_in_days',
      });
    }
    const id = randomUUID();
    const token = `${API_TOKEN_PREFIX}${randomSecret()}`;
    const expiresAt = new Date(now.getTime() + days * 86_400_000).toISOString();
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
            expires_at: expiresAt,
          },
        },
      ],
      actor,
      { expectedRevision: 'no_stream' },
    );
    const record = this.identity.state.apiTokens.get(id);
    if (!record) throw new Error(`token ${id} was appended but is not in the identity state`);
    return { ...mapToken(record, this.effectiveRole(record, 0)), token };
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

  /**
   * The actor for a presented `rf_…` token, or null when unknown, revoked or
   * expired, or when its creator may no longer act. Its role is the lower of
   * the token's own and its creator's role now: demoting a user caps their
   * tokens, disabling them stops them.
   */
  authenticate(token: string): Actor | null {
    if (!token.startsWith(API_TOKEN_PREFIX)) return null;
    // A lookup by the sha256 of a 256-bit secret leaks nothing useful through timing.
    const record = this.identity.state.apiTokenByHash(sha256Hex(token));
    if (!record) return null;
    const role = this.effectiveRole(record, 0);
    return role === null ? null : { kind: 'user', id: `token:${record.id}`, name: record.name, role };
  }

  /** The role a token acts with now, or null when it may not act at all. */
  private effectiveRole(record: ApiTokenRecord, depth: number): Role | null {
    if (record.revoked) return null;
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= this.settings.now()) return null;
    const creator = record.createdBy;
    // Made by the CLI (whoever runs it holds the data directory) or before creators were recorded.
    if (creator === null || (record.createdByKind !== null && record.createdByKind !== 'user'))
      return record.role;
    if (creator.startsWith('token:')) {
      const parent = this.identity.state.apiTokens.get(creator.slice('token:'.length));
      const parentRole = parent && depth < MAX_CREATOR_CHAIN ? this.effectiveRole(parent, depth + 1) : null;
      return parentRole === null ? null : lowerRole(record.role, parentRole);
    }
    const user = this.identity.state.users.get(creator);
    if (!user || user.disabled) return null;
    return lowerRole(record.role, user.role);
  }
}
