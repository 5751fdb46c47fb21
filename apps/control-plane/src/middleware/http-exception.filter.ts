import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import type { Request, Response } from 'express';
import { isEventStoreError } from '@rf/event-store';
import { AppError } from '../core/app-error';

/** Error codes (ours and the auth area's) to HTTP statuses; the only place statuses are chosen. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  invalid_input: HttpStatus.BAD_REQUEST,
  invalid_credentials: HttpStatus.UNAUTHORIZED,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  invalid_enrolment_token: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  host_revoked: HttpStatus.CONFLICT,
  job_finished: HttpStatus.CONFLICT,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  agent_failed: HttpStatus.BAD_GATEWAY,
  delivery_failed: HttpStatus.BAD_GATEWAY,
};

interface ErrorBody {
  error: {
    code: string;
    message: string;
    field?: string;
    fields?: Record<string, string[]>;
    correlation_id?: string;
  };
}

/** Flattens class-validator errors into `{ "schedules.0.cron": ["…"] }`. */
export function flattenValidationErrors(
  errors: readonly ValidationError[],
  prefix = '',
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errors) {
    const name = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) out[name] = Object.values(e.constraints);
    if (e.children?.length) Object.assign(out, flattenValidationErrors(e.children, name));
  }
  return out;
}

/** `ValidationPipe` exceptionFactory: a 400 that names every failing field. */
export function validationErrorFactory(errors: ValidationError[]): AppError {
  const fields = flattenValidationErrors(errors);
  const names = Object.keys(fields);
  const first = names[0];
  const message =
    first === undefined ? 'invalid request' : `invalid ${names.join(', ')}: ${fields[first]!.join('; ')}`;
  return new AppError('invalid_input', message, { ...(first ? { field: first } : {}), fields });
}

/**
 * Known errors map to their status; anything else is logged with a correlation
 * id and answered with a generic 500 that carries the same id.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    if (res.headersSent) return;
    const { status, body, headers } = this.toResponse(exception, req);
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.status(status).json(body);
  }

  private toResponse(
    exception: unknown,
    req: Request,
  ): { status: number; body: ErrorBody; headers: Record<string, string> } {
    const coded = codedError(exception);
    if (coded) {
      const status = STATUS_BY_CODE[coded.code] ?? HttpStatus.BAD_REQUEST;
      const headers: Record<string, string> = {};
      if (coded.retryAfterS !== undefined) headers['Retry-After'] = String(coded.retryAfterS);
      return {
        status,
        headers,
        body: {
          error: {
            code: coded.code,
            message: coded.message,
            ...(coded.field ? { field: coded.field } : {}),
            ...(coded.fields ? { fields: coded.fields } : {}),
          },
        },
      };
    }
    if (isEventStoreError(exception, 'WrongExpectedVersion')) {
      return {
        status: HttpStatus.CONFLICT,
        headers: {},
        body: {
          error: { code: 'conflict', message: 'the resource changed concurrently; retry the request' },
        },
      };
    }
    if (isEventStoreError(exception, 'Unavailable') || isEventStoreError(exception, 'Closed')) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        headers: {},
        body: { error: { code: 'unavailable', message: 'the event store is not reachable' } },
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status < 500) {
        const response = exception.getResponse();
        const message =
          typeof response === 'object' && response !== null && 'message' in response
            ? String((response as { message: unknown }).message)
            : exception.message;
        return { status, headers: {}, body: { error: { code: codeForStatus(status), message } } };
      }
    }
    const correlationId =
      typeof req.id === 'string' || typeof req.id === 'number' ? String(req.id) : randomUUID();
    this.logger.error(
      { err: exception, correlation_id: correlationId, method: req.method, path: req.path },
      'unhandled error while serving a request',
    );
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      headers: {},
      body: {
        error: {
          code: 'internal_error',
          message: `internal error; quote correlation id ${correlationId} when reporting it`,
          correlation_id: correlationId,
        },
      },
    };
  }
}

interface CodedError {
  code: string;
  message: string;
  field?: string;
  fields?: Record<string, string[]>;
  retryAfterS?: number;
}

/** Our AppError and the auth area's AuthError share the shape `{code, message, details}`. */
function codedError(exception: unknown): CodedError | null {
  if (exception instanceof AppError) {
    return { code: exception.code, message: exception.message, ...exception.details };
  }
  if (exception instanceof Error && exception.name === 'ProjectionError') {
    const e = exception as Error & { code?: unknown; details?: { field?: unknown } };
    if (e.code !== 'InvalidArgument') return null;
    return {
      code: 'invalid_input',
      message: e.message,
      ...(typeof e.details?.field === 'string' ? { field: e.details.field } : {}),
    };
  }
  if (exception instanceof Error && exception.name === 'AuthError') {
    const e = exception as Error & { code?: unknown; details?: { field?: unknown; retryAfterS?: unknown } };
    if (typeof e.code !== 'string') return null;
    return {
      code: e.code,
      message: e.message,
      ...(typeof e.details?.field === 'string' ? { field: e.details.field } : {}),
      ...(typeof e.details?.retryAfterS === 'number' ? { retryAfterS: e.details.retryAfterS } : {}),
    };
  }
  return null;
}

function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_input';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 429:
      return 'rate_limited';
    default:
      return 'error';
  }
}
