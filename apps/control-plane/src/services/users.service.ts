import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { isEventStoreError } from '@rf/event-store';
import { type FleetEvent } from '@rf/events';
import { isRole, type Actor, type Role } from '../core/actor';
import { AuthError } from '../core/auth.errors';
import { IdentityLog } from './identity.log';
import type { UserRecord } from '../domain/identity.state';
import { MIN_PASSWORD_LENGTH, USERNAME_PATTERN } from '../domain/identity.rules';
import { PasswordHasher } from '../repositories/password.hasher';

/** What the API shows of a user: never the hash. */
export interface UserView {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  created_at: string;
}

export const mapUser = (u: UserRecord): UserView => ({
  id: u.id,
  username: u.username,
  role: u.role,
  disabled: u.disabled,
  created_at: u.createdAt,
});

export interface UserChanges {
  role?: Role;
  password?: string;
  disabled?: boolean;
}

@Injectable()
export class UsersService {
  constructor(
    private readonly identity: IdentityLog,
    private readonly hasher: PasswordHasher,
  ) {}

  list(): UserView[] {
    return [...this.identity.state.users.values()]
      .sort((a, b) => a.username.localeCompare(b.username))
      .map(mapUser);
  }

  get(id: string): UserView {
    return mapUser(this.require(id));
  }

  hasAnyUser(): boolean {
    return this.identity.state.users.size > 0;
  }

  async create(username: string, role: Role, password: string, actor: Actor): Promise<UserView> {
    if (!USERNAME_PATTERN.test(username)) {
      throw new AuthError(
        'invalid_input',
        'username must be 1..64 characters [A-Za-z0-9._@-], starting with a letter or digit',
        {
          field: 'username',
        },
      );
    }
    if (!isRole(role))
      throw new AuthError('invalid_input', 'role must be admin, operator or viewer', { field: 'role' });
    checkPassword(password);
    if (this.identity.state.userByName(username)) {
      throw new AuthError('conflict', `user "${username}" already exists`, { field: 'username' });
    }
    const id = randomUUID();
    const passwordHash = await this.hasher.hash(password);
    try {
      await this.identity.append(
        `user-${id}`,
        [
          {
            type: 'UserCreated',
            data: { user_id: id, username, role, password_hash: passwordHash },
          },
        ],
        actor,
        { expectedRevision: 'no_stream' },
      );
    } catch (err) {
      if (isEventStoreError(err, 'WrongExpectedVersion')) {
        throw new AuthError('conflict', `user id collision, retry`, { field: 'username' });
      }
      throw err;
    }
    return this.get(id);
  }

  async update(id: string, changes: UserChanges, actor: Actor): Promise<UserView> {
    const user = this.require(id);
    const events: FleetEvent[] = [];
    const at = new Date().toISOString();
    if (changes.role !== undefined && changes.role !== user.role) {
      if (!isRole(changes.role)) {
        throw new AuthError('invalid_input', 'role must be admin, operator or viewer', { field: 'role' });
      }
      if (user.role === 'admin') this.ensureAnotherActiveAdmin(user.id, 'role');
      events.push({ type: 'UserRoleChanged', data: { user_id: id, role: changes.role, changed_at: at } });
    }
    if (changes.password !== undefined) {
      checkPassword(changes.password);
      events.push({
        type: 'UserPasswordChanged',
        data: { user_id: id, password_hash: await this.hasher.hash(changes.password), changed_at: at },
      });
    }
    if (changes.disabled !== undefined && changes.disabled !== user.disabled) {
      if (changes.disabled && user.role === 'admin') this.ensureAnotherActiveAdmin(user.id, 'disabled');
      events.push(
        changes.disabled
          ? { type: 'UserDisabled', data: { user_id: id, disabled_at: at } }
          : { type: 'UserEnabled', data: { user_id: id, enabled_at: at } },
      );
    }
    if (events.length > 0) await this.identity.append(`user-${id}`, events, actor);
    return this.get(id);
  }

  private require(id: string): UserRecord {
    const user = this.identity.state.users.get(id);
    if (!user) throw new AuthError('not_found', `user ${id} not found`, { field: 'id' });
    return user;
  }

  /** Nobody may lock the fleet out by demoting or disabling the last active admin. */
  private ensureAnotherActiveAdmin(exceptId: string, field: string): void {
    const others = [...this.identity.state.users.values()].filter(
      (u) => u.id !== exceptId && u.role === 'admin' && !u.disabled,
    );
    if (others.length === 0) {
      throw new AuthError('conflict', 'cannot demote or disable the last active admin', { field });
    }
  }
}

function checkPassword(password: unknown): asserts password is string {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
    throw new AuthError('invalid_input', `password must be at least ${MIN_PASSWORD_LENGTH} characters`, {
      field: 'password',
    });
  }
  if (password.length > 1024) {
    throw new AuthError('invalid_input', 'password must be at most 1024 characters', { field: 'password' });
  }
}
