import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError } from '../core/app-error';
import { UiRenderer } from './ui-renderer.service';

const STATUS: Readonly<Record<string, number>> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  host_revoked: 409,
  job_finished: 409,
  rate_limited: 429,
  too_large: 413,
  agent_failed: 502,
  unavailable: 503,
};

const codeOf = (err: unknown): string | undefined => {
  if (err && typeof err === 'object' && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
};

/**
 * Pages answer errors as pages: a missing session sends the browser to the
 * login page (htmx gets HX-Redirect), other known errors render a short
 * explanation inside the layout.
 */
@Catch()
export class UiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('UiExceptionFilter');

  constructor(private readonly renderer: UiRenderer) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    const code = codeOf(exception);
    const htmx = req.headers['hx-request'] === 'true';
    if (code === 'unauthenticated') {
      const next = req.method === 'GET' && !htmx ? req.originalUrl : '/';
      const target = `/login?next=${encodeURIComponent(next)}`;
      if (htmx) res.setHeader('HX-Redirect', target).status(204).end();
      else res.redirect(303, target);
      return;
    }
    let status = code !== undefined ? (STATUS[code] ?? 500) : 500;
    if (exception instanceof HttpException) status = exception.getStatus();
    // Our own codes carry messages written for the operator (e.g. "no host … is online"), 5xx included.
    const known = status < 500 || (code !== undefined && code in STATUS && exception instanceof AppError);
    const message =
      known && exception instanceof Error ? exception.message : 'Something went wrong on the server.';
    if (!known)
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    const title =
      status === 404
        ? 'Not found'
        : status === 403
          ? 'Not allowed'
          : status < 500
            ? 'Request refused'
            : status === 502 || status === 503
              ? 'No answer from the hosts'
              : 'Server error';
    const body = this.renderer.view('error', { status, title, message });
    res.status(status).type('html');
    res.send(htmx ? body : this.renderer.page(req, { title }, body));
  }
}
