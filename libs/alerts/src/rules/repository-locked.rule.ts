import type { AlertRule } from './alert-rule';
import { repositoryLabel, repositoryResolution } from './alert-rule';
import { repositorySubject } from './alert-subjects';
import { iso } from './alert-text';
import { repositoryConditions } from './repository-conditions';

/** Jobs (of any host) failed on the repository's lock twice in a row; a job on it that succeeds resolves it. */
export const repositoryLockedRule: AlertRule = {
  name: 'repository_locked',
  *candidates(ctx) {
    for (const { repository, host, condition: f } of repositoryConditions(
      ctx,
      'repository_locked',
      (r) => r.locked,
    )) {
      yield {
        subject: repositorySubject(repository.repositoryId),
        host,
        repositoryId: repository.repositoryId,
        jobId: f.jobId,
        summary:
          `Repository ${repositoryLabel(repository)} is locked: ${repository.lockStreak} jobs in a row failed on the lock. ` +
          'If no job is running on it, run an unlock job.',
        details: {
          failures_in_a_row: repository.lockStreak,
          last_failure_at: iso(f.at),
          last_kind: f.kind,
          last_host_id: f.hostId,
        },
      };
    }
  },
  resolution: repositoryResolution((_ctx, _alert, r) =>
    r.locked === undefined ? 'a job on the repository succeeded' : null,
  ),
};
