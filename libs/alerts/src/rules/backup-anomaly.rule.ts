import type { AlertRule } from './alert-rule';
import { closedByAcknowledgement, hostConditions, hostLabel } from './alert-rule';
import { hostSubject } from './alert-subjects';
import { formatBytes, formatCount } from './alert-text';
import type { PendingCondition } from './fleet-watch.state';

function describe(p: PendingCondition, host: string): string {
  const value = typeof p.details.value === 'number' ? p.details.value : 0;
  const median = typeof p.details.median === 'number' ? p.details.median : 0;
  switch (p.details.anomaly) {
    case 'files_changed':
      return `A backup on ${host} changed or added ${formatCount(value)} files, against a median of ${formatCount(median)}: check for mass encryption or a runaway process`;
    case 'data_added':
      return `A backup on ${host} added ${formatBytes(value)}, against a median of ${formatBytes(median)}: check for mass encryption or a runaway process`;
    default:
      return `A backup on ${host} read ${formatBytes(value)}, less than half its median of ${formatBytes(median)}: check for a vanished mount or deleted data`;
  }
}

/** A backup far outside the host's recent history; only an acknowledgement closes it. */
export const backupAnomalyRule: AlertRule = {
  name: 'backup_anomaly',
  *candidates(ctx) {
    for (const { host, subject, condition: p } of hostConditions(
      ctx,
      'backup_anomaly',
      hostSubject,
      (h) => h.pendingAnomaly,
    )) {
      const scheduleId = typeof p.details.schedule_id === 'string' ? p.details.schedule_id : undefined;
      yield {
        subject,
        host,
        jobId: p.jobId,
        scheduleId,
        summary: describe(p, hostLabel(host)),
        details: p.details,
      };
    }
  },
  resolution: closedByAcknowledgement,
};
