/** Codes, not HTTP statuses: the app edge maps them (docs/architecture.md, "External contract"). */
export type ProjectionErrorCode =
  | 'WaitTimeout'
  | 'RunnerStopped'
  | 'UnknownProjection'
  | 'InvalidArgument'
  | 'RebuildConflict'
  /** readmodels.db was built from another log than the one configured (docs/architecture.md, "Log identity"). */
  | 'WrongLog';

export class ProjectionError extends Error {
  constructor(
    readonly code: ProjectionErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProjectionError';
  }
}

export const isProjectionError = (err: unknown, code?: ProjectionErrorCode): err is ProjectionError =>
  err instanceof ProjectionError && (code === undefined || err.code === code);
