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
  /** An answer past its size cap (a browse query, docs/browse.md). */
  | 'too_large'
  /** The agent or its restic could not answer (failed, timed out, went away). */
  | 'agent_failed'
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
