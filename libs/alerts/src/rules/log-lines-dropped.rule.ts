import type { AlertRule } from './alert-rule';
import { closedByAcknowledgement, hostConditions, hostLabel } from './alert-rule';
import { hostSubject } from './alert-subjects';
import { formatCount } from './alert-text';

/** An agent's outbox dropped log lines; only an acknowledgement closes it. */
export const logLinesDroppedRule: AlertRule = {
  name: 'log_lines_dropped',
  *candidates(ctx) {
    for (const { host, subject, condition: p } of hostConditions(
      ctx,
      'log_lines_dropped',
      hostSubject,
      (h) => h.pendingDrops,
    )) {
      const n = typeof p.details.dropped_lines === 'number' ? p.details.dropped_lines : 0;
      yield {
        subject,
        host,
        jobId: p.jobId,
        summary: `The agent on ${hostLabel(host)} dropped ${formatCount(n)} log lines of a job because its outbox was full`,
        details: p.details,
      };
    }
  },
  resolution: closedByAcknowledgement,
};
