/**
 * Errors the core raises carry a code, never an HTTP status; the exception
 * filter at the edge maps codes to statuses (docs/architecture.md, "External contract").
 */
export type AppErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'host_revoked'
  | 'job_finished'
  | 'unavailable'
  | 'forbidden'
  /** An outside receiver (a notification channel) did not accept what we sent. */
  | 'delivery_failed';

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly details: { field?: string; fields?: Record<string, string[]> } = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}
