import type { AlertRule } from './alert-rule';
import { hostLabel, watchedHosts } from './alert-rule';
import { jobKindSubject, subjectPart } from './alert-subjects';
import { firstLine, iso } from './alert-text';

/** A job ended failed or lost; the next job of the same kind on the host that succeeds resolves it. */
export const jobFailedRule: AlertRule = {
  name: 'job_failed',
  *candidates(ctx) {
    for (const h of watchedHosts(ctx, 'job_failed', (x) => x.failing.size > 0)) {
      for (const f of h.failing.values()) {
        const subject = jobKindSubject(h.hostId, f.kind);
        if (ctx.isOpen('job_failed', subject)) continue;
        const why = firstLine(f.error);
        yield {
          subject,
          host: h,
          jobId: f.jobId,
          scheduleId: f.scheduleId,
          summary: `${f.kind} job ${f.outcome === 'lost' ? 'was lost' : 'failed'} on ${hostLabel(h)}${why ? `: ${why}` : ''}`,
          details: {
            kind: f.kind,
            status: f.outcome,
            error_code: f.errorCode ?? null,
            error: firstLine(f.error, 1000) ?? null,
            ended_at: iso(f.at),
          },
        };
      }
    }
  },
  resolution(_ctx, alert, h) {
    const kind = subjectPart(alert.subject, 'kind');
    return [...h.failing.keys()].some((k) => k === kind) ? null : `a later ${kind ?? ''} job succeeded`;
  },
};
