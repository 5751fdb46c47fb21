export { AuthModule } from './auth.module';
export { AuthSettings } from './auth.settings';
export {
  Roles,
  Public,
  CurrentActor,
  actorOf,
  roleSatisfies,
  isRole,
  ROLES,
  type Actor,
  type Role,
} from './auth.decorators';
export { AgentCredentialsService } from './agent-credentials.service';
export { EnrolmentService } from './enrolment.service';
export { RequestAuthenticator, type Authenticated } from './request-authenticator';
export {
  csrfTokenOf,
  csrfHiddenInput,
  CSRF_HEADER,
  CSRF_FORM_FIELD,
  CSRF_COOKIE,
  SESSION_COOKIE,
} from './auth.cookies';
