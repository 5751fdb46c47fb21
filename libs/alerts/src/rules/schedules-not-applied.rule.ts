import type { AlertRule } from './alert-rule';
import { hostLabel, hostResolution, watchedHosts } from './alert-rule';
import { hostSubject } from './alert-subjects';
import { formatDuration, iso } from './alert-text';
import type { WatchedHost } from './fleet-watch.state';

const unapplied = (h: WatchedHost): boolean =>
  h.online && h.desiredVersion !== undefined && (h.appliedVersion ?? -1) < h.desiredVersion;

/**
 * The desired schedule version differs from the applied one for longer than
 * the threshold (default 10 min) while the host is online; it resolves once
 * applied (going offline does not resolve it, nor start a new one on return).
 */
export const schedulesNotAppliedRule: AlertRule = {
  name: 'schedules_not_applied',
  *candidates(ctx) {
    for (const h of watchedHosts(ctx, 'schedules_not_applied', unapplied)) {
      if (h.desiredVersion === undefined || h.desiredAt === undefined) continue;
      const thresholdMs = (ctx.setting('schedules_not_applied', h.hostId).threshold_s ?? 0) * 1000;
      const since = Math.max(h.desiredAt, h.connectedAt ?? h.desiredAt);
      const subject = hostSubject(h.hostId);
      if (ctx.now - since <= thresholdMs || ctx.isOpen('schedules_not_applied', subject)) continue;
      yield {
        subject,
        host: h,
        summary:
          `${hostLabel(h)} has not applied schedule version ${h.desiredVersion} ` +
          `(it runs ${h.appliedVersion === undefined ? 'none' : `version ${h.appliedVersion}`}) for more than ${formatDuration(thresholdMs)} while online`,
        details: {
          desired_version: h.desiredVersion,
          applied_version: h.appliedVersion ?? null,
          desired_at: iso(h.desiredAt),
          threshold_s: thresholdMs / 1000,
        },
      };
    }
  },
  resolution: hostResolution((_ctx, _alert, h) =>
    h.desiredVersion === undefined || (h.appliedVersion ?? -1) >= h.desiredVersion
      ? `the agent applied schedule version ${h.appliedVersion ?? h.desiredVersion ?? 0}`
      : null,
  ),
};
