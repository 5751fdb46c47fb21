import type { AlertRule, RuleContext } from './alert-rule';
import { hostLabel, hostResolution, watchedHosts } from './alert-rule';
import { hostSubject } from './alert-subjects';
import { formatDuration, formatTime, iso } from './alert-text';
import type { WatchedHost } from './fleet-watch.state';

/**
 * Since when a host counts as away. A disconnection the control plane caused
 * itself (it shut down, or could not store) says nothing about the agent, so
 * that clock starts no earlier than this process began watching.
 */
function awaySince(ctx: RuleContext, h: WatchedHost): number | undefined {
  if (h.online || h.disconnectedAt === undefined) return undefined;
  const ours = h.disconnectReason === 'server_shutdown' || h.disconnectReason === 'store_unavailable';
  return ours ? Math.max(h.disconnectedAt, ctx.watchingSince) : h.disconnectedAt;
}

/** A host stays offline longer than the threshold (default 15 min); its return resolves it. */
export const agentOfflineRule: AlertRule = {
  name: 'agent_offline',
  *candidates(ctx) {
    for (const h of watchedHosts(ctx, 'agent_offline', (x) => !x.online && x.disconnectedAt !== undefined)) {
      const since = awaySince(ctx, h);
      if (since === undefined) continue;
      const subject = hostSubject(h.hostId);
      const thresholdMs = (ctx.setting('agent_offline', h.hostId).threshold_s ?? 0) * 1000;
      if (ctx.now - since <= thresholdMs || ctx.isOpen('agent_offline', subject)) continue;
      yield {
        subject,
        host: h,
        summary: `${hostLabel(h)} has been offline since ${formatTime(h.disconnectedAt ?? since)} (more than ${formatDuration(thresholdMs)})`,
        details: {
          disconnected_at: iso(h.disconnectedAt ?? since),
          reason: h.disconnectReason ?? null,
          threshold_s: thresholdMs / 1000,
        },
      };
    }
  },
  resolution: hostResolution((_ctx, _alert, h) => (h.online ? 'the agent reconnected' : null)),
};
