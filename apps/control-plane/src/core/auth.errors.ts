/** What went wrong, as a code; only the HTTP edge (the app's global exception filter) turns it into a status. */
export type AuthErrorCode =
  | 'invalid_input'
  | 'unauthenticated'
  | 'forbidden'
  | 'invalid_credentials'
  | 'rate_limited'
  | 'not_found'
  | 'conflict'
  | 'invalid_enrolment_token';

export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    readonly details: { field?: string; retryAfterS?: number } = {},
  ) {
    super(message);
    this.name = 'AuthError';
  }
}
