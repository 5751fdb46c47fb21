import type { AlertRule } from './alert-rule';
import { hostConditions, hostLabel } from './alert-rule';
import { repositorySubject } from './alert-subjects';
import { firstLine, iso } from './alert-text';

/** A `check` found errors in the repository; a later check that finds none resolves it. */
export const checkFailedRule: AlertRule = {
  name: 'check_failed',
  *candidates(ctx) {
    for (const { host, subject, condition: f } of hostConditions(
      ctx,
      'check_failed',
      repositorySubject,
      (h) => h.checkFailure,
    )) {
      const why = firstLine(f.error);
      yield {
        subject,
        host,
        jobId: f.jobId,
        summary: `restic check found errors in the repository of ${hostLabel(host)}${why ? `: ${why}` : ''}`,
        details: { error: firstLine(f.error, 1000) ?? null, checked_at: iso(f.at) },
      };
    }
  },
  resolution(_ctx, _alert, h) {
    return h.checkFailure === undefined ? 'a later check found no errors' : null;
  },
};
