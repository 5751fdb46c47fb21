import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthSettings } from '../core/auth.settings';
import { AdminBootstrapService } from '../services/admin-bootstrap.service';
import { AgentCredentialsService } from '../services/agent-credentials.service';
import { ApiTokensService } from '../services/api-tokens.service';
import { EnrolmentService } from '../services/enrolment.service';
import { IdentityLog } from '../services/identity.log';
import { LoginService } from '../services/login.service';
import { SessionService } from '../services/session.service';
import { UsersService } from '../services/users.service';
import { AuthGuard } from './auth.guard';
import { RequestAuthenticator } from './request-authenticator';

const services: Provider[] = [
  IdentityLog,
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
 * Their REST controllers are in ApiModule. Needs `AppConfig`, `EVENT_STORE`
 * and the RepositoriesModule from the root module.
 */
@Global()
@Module({
  providers: [...services, { provide: AuthSettings, useValue: new AuthSettings() }],
  exports: [
    AuthSettings,
    IdentityLog,
    AgentCredentialsService,
    RequestAuthenticator,
    EnrolmentService,
    LoginService,
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
