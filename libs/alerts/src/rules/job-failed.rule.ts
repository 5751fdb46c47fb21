import type { AlertRule } from './alert-rule';
import { hostLabel, hostResolution, repositoryLabel, watchedHosts } from './alert-rule';
import { jobKindSubject, subjectPart } from './alert-subjects';
import { firstLine, iso } from './alert-text';

/** A job ended failed or lost; the next job of the same kind on the host that succeeds resolves it. */
export const jobFailedRule: AlertRule = {
  name: 'job_failed',
  *candidates(ctx) {
    for (const h of watchedHosts(ctx, 'job_failed', (x) => x.failing.size > 0)) {
      for (const f of h.failing.values()) {
        const subject = jobKindSubject(h.hostId, f.kind, f.repositoryId);
        if (ctx.isOpen('job_failed', subject)) continue;
        const why = firstLine(f.error);
        // Name the repository only where the host has several: with one, it says nothing.
        const repository = ctx.watch.repositories.get(f.repositoryId);
        const where =
          h.repositories.size > 1 && repository ? ` (repository ${repositoryLabel(repository)})` : '';
        yield {
          subject,
          host: h,
          repositoryId: f.repositoryId,
          jobId: f.jobId,
          scheduleId: f.scheduleId,
          summary: `${f.kind} job ${f.outcome === 'lost' ? 'was lost' : 'failed'} on ${hostLabel(h)}${where}${why ? `: ${why}` : ''}`,
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
  resolution: hostResolution((_ctx, alert, h) => {
    const kind = subjectPart(alert.subject, 'kind') ?? '';
    return h.failing.has(`${kind} ${subjectPart(alert.subject, 'repository') ?? ''}`)
      ? null
      : `a later ${kind} job succeeded`;
  }),
};
