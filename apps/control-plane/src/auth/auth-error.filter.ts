import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { AuthError, type AuthErrorCode } from './auth.errors';

const STATUS: Record<AuthErrorCode, number> = {
  invalid_input: 400,
  invalid_credentials: 401,
  invalid_enrolment_token: 401,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
};

/** The HTTP edge for auth's error codes. */
@Catch(AuthError)
export class AuthErrorFilter implements ExceptionFilter {
  catch(err: AuthError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const status = STATUS[err.code];
    if (err.details.retryAfterS !== undefined) res.setHeader('Retry-After', String(err.details.retryAfterS));
    res.status(status).json({
      statusCode: status,
      code: err.code,
      message: err.message,
      ...(err.details.field ? { field: err.details.field } : {}),
      ...(err.details.retryAfterS !== undefined ? { retry_after_s: err.details.retryAfterS } : {}),
    });
  }
}
