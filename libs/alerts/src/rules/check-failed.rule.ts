import type { AlertRule } from './alert-rule';
import { repositoryLabel, repositoryResolution } from './alert-rule';
import { repositorySubject } from './alert-subjects';
import { firstLine, iso } from './alert-text';
import { repositoryConditions } from './repository-conditions';

/** A `check` found errors in the repository; a later check that finds none resolves it. */
export const checkFailedRule: AlertRule = {
  name: 'check_failed',
  *candidates(ctx) {
    for (const { repository, host, condition: f } of repositoryConditions(
      ctx,
      'check_failed',
      (r) => r.checkFailure,
    )) {
      const why = firstLine(f.error);
      yield {
        subject: repositorySubject(repository.repositoryId),
        host,
        repositoryId: repository.repositoryId,
        jobId: f.jobId,
        summary: `restic check found errors in repository ${repositoryLabel(repository)}${why ? `: ${why}` : ''}`,
        details: { error: firstLine(f.error, 1000) ?? null, checked_at: iso(f.at) },
      };
    }
  },
  resolution: repositoryResolution((_ctx, _alert, r) =>
    r.checkFailure === undefined ? 'a later check found no errors' : null,
  ),
};
