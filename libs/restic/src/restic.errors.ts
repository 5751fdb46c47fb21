export type ResticErrorCode = 'not_found' | 'not_runnable' | 'invalid_argument' | 'spawn_failed';

/** Errors from this library carry a code and, for bad input, the field at fault. */
export class ResticError extends Error {
  constructor(
    readonly code: ResticErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ResticError';
  }
}
