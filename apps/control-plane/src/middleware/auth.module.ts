import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AdminBootstrapService } from '../services/admin-bootstrap.service';
import { AgentCredentialsService } from '../services/agent-credentials.service';
import { ApiTokensController } from '../controllers/api-tokens.controller';
import { ApiTokensService } from '../services/api-tokens.service';
import { AuthController } from '../controllers/auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthSettings } from '../core/auth.settings';
import { EnrolmentController } from '../controllers/enrolment.controller';
import { EnrolmentService } from '../services/enrolment.service';
import { IdentityLog } from '../services/identity.log';
import { LoginService } from '../services/login.service';
import { PasswordHasher } from '../repositories/password.hasher';
import { RequestAuthenticator } from './request-authenticator';
import { SessionService } from '../services/session.service';
import { UsersController } from '../controllers/users.controller';
import { UsersService } from '../services/users.service';

const services: Provider[] = [
  IdentityLog,
  PasswordHasher,
  SessionService,
  LoginService,
  UsersService,
  ApiTokensService,
  EnrolmentService,
  AgentCredentialsService,
  RequestAuthenticator,
  AdminBootstrapService,
  { provide: APP_GUARD, useClass: AuthGuard },
];

/**
 * Authentication and access for the whole app: a global deny-by-default
 * guard, login/sessions, users, API tokens, enrolment and agent credentials.
 * Needs `AppConfig` and `EVENT_STORE` from the root module.
 */
@Global()
@Module({
  controllers: [AuthController, UsersController, ApiTokensController, EnrolmentController],
  providers: [...services, { provide: AuthSettings, useValue: new AuthSettings() }],
  exports: [
    IdentityLog,
    AgentCredentialsService,
    RequestAuthenticator,
    EnrolmentService,
    UsersService,
    ApiTokensService,
    SessionService,
  ],
})
export class AuthModule {
  /** The same module with tunables overridden (tests: short expiries, a fake clock). */
  static forRoot(overrides: Partial<AuthSettings> = {}): DynamicModule {
    return {
      module: AuthModule,
      providers: [{ provide: AuthSettings, useValue: AuthSettings.with(overrides) }],
    };
  }
}
