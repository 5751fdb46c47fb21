import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../core/app-config';
import type { Actor } from '../core/actor';
import { AuthError } from '../core/auth.errors';
import { AuthSettings } from '../core/auth.settings';
import { randomPassword } from '../core/secret-tokens';
import { UsersService } from './users.service';

const BOOTSTRAP_ACTOR: Actor = { kind: 'system', id: 'bootstrap' };

/**
 * Creates the first admin when the log has no user at all: from
 * RF_ADMIN_USER / RF_ADMIN_PASSWORD, or `admin` with a random password that is
 * printed once to stdout.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrapService.name);

  constructor(
    private readonly users: UsersService,
    private readonly config: AppConfig,
    private readonly settings: AuthSettings,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.ensureAdmin();
  }

  /** Returns the username created, or null when users already existed. */
  async ensureAdmin(): Promise<string | null> {
    if (this.users.hasAnyUser()) return null;
    const username = this.config.adminUser ?? 'admin';
    const fromEnv = this.config.adminPassword;
    const password = fromEnv ?? randomPassword();
    try {
      await this.users.create(username, 'admin', password, BOOTSTRAP_ACTOR);
    } catch (err) {
      if (err instanceof AuthError && err.details.field === 'password') {
        throw new Error(`RF_ADMIN_PASSWORD: ${err.message}`);
      }
      throw err;
    }
    this.logger.log(`created the first admin user "${username}"`);
    if (fromEnv === undefined) {
      this.settings.writeBanner(
        [
          '',
          '================================================================',
          ' restic-fleet: first admin user created',
          `   username: ${username}`,
          `   password: ${password}`,
          ' This password is shown only once. Log in and change it, or set',
          ' RF_ADMIN_USER / RF_ADMIN_PASSWORD before the first start.',
          '================================================================',
          '',
        ].join('\n') + '\n',
      );
    }
    return username;
  }
}
