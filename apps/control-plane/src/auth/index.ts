export { AuthModule } from '../middleware/auth.module';
export { AuthSettings } from '../core/auth.settings';
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
} from '../middleware/auth.decorators';
export { AgentCredentialsService } from '../services/agent-credentials.service';
export { EnrolmentService } from '../services/enrolment.service';
export { RequestAuthenticator, type Authenticated } from '../middleware/request-authenticator';
export {
  csrfTokenOf,
  csrfHiddenInput,
  CSRF_HEADER,
  CSRF_FORM_FIELD,
  CSRF_COOKIE,
  SESSION_COOKIE,
} from '../middleware/auth.cookies';
