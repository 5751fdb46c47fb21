import type { AlertRule } from './alert-rule';
import { hostConditions, hostLabel } from './alert-rule';
import { repositorySubject } from './alert-subjects';
import { iso } from './alert-text';

/** Jobs failed on the repository's lock twice in a row; a job on it that succeeds resolves it. */
export const repositoryLockedRule: AlertRule = {
  name: 'repository_locked',
  *candidates(ctx) {
    for (const { host, subject, condition: f } of hostConditions(
      ctx,
      'repository_locked',
      repositorySubject,
      (h) => h.locked,
    )) {
      yield {
        subject,
        host,
        jobId: f.jobId,
        summary:
          `The repository of ${hostLabel(host)} is locked: ${host.lockStreak} jobs in a row failed on the lock. ` +
          'If no job is running on it, run an unlock job.',
        details: { failures_in_a_row: host.lockStreak, last_failure_at: iso(f.at), last_kind: f.kind },
      };
    }
  },
  resolution(_ctx, _alert, h) {
    return h.locked === undefined ? 'a job on the repository succeeded' : null;
  },
};
