import { ALICE, at, planned, type PlannedEvent } from './fleet-events.fixture';

/** A sealed secret as ChannelConfigured stores it (the projections never open it). */
export const SEALED_SECRET = {
  alg: 'aes-256-gcm',
  key_id: 'k1',
  iv: 'aXY=',
  tag: 'dGFn',
  ciphertext: 'c2VjcmV0LXdlYmhvb2stc2VjcmV0',
};

export const alertRaised = (
  alertId: string,
  t: number,
  o: { rule?: string; severity?: string; hostId?: string; hostname?: string; summary?: string } = {},
): PlannedEvent =>
  planned(`alert-${alertId}`, 'AlertRaised', {
    alert_id: alertId,
    rule: o.rule ?? 'job_failed',
    severity: o.severity ?? 'error',
    subject: `host:${o.hostId ?? 'h1'}/kind:backup`,
    host_id: o.hostId ?? 'h1',
    hostname: o.hostname ?? 'web-01',
    job_id: `job-of-${alertId}`,
    summary: o.summary ?? `backup job failed on ${o.hostname ?? 'web-01'}`,
    details: { exit_code: 1 },
    raised_at: at(t),
  });

export const alertAcknowledged = (alertId: string, t: number, note?: string): PlannedEvent =>
  planned(
    `alert-${alertId}`,
    'AlertAcknowledged',
    { alert_id: alertId, by: ALICE.id, ...(note !== undefined ? { note } : {}), acknowledged_at: at(t) },
    ALICE,
  );

export const alertResolved = (
  alertId: string,
  t: number,
  reason = 'the next backup succeeded',
): PlannedEvent =>
  planned(`alert-${alertId}`, 'AlertResolved', { alert_id: alertId, reason, resolved_at: at(t) });

export const webhookConfigured = (
  channelId: string,
  t: number,
  o: { name?: string; routing?: Record<string, unknown> } = {},
): PlannedEvent =>
  planned(
    `channel-${channelId}`,
    'ChannelConfigured',
    {
      channel_id: channelId,
      kind: 'webhook',
      name: o.name ?? 'ops webhook',
      settings: { url: SEALED_SECRET, secret: SEALED_SECRET },
      ...(o.routing ? { routing: o.routing } : {}),
      configured_at: at(t),
    },
    ALICE,
  );

export const notification = (
  type: 'NotificationSent' | 'NotificationFailed',
  alertId: string,
  channelId: string,
  attempt: number,
  t: number,
  o: { error?: string; retry?: boolean; transition?: string } = {},
): PlannedEvent =>
  planned(`delivery-${alertId}`, type, {
    channel_id: channelId,
    transition: o.transition ?? 'raised',
    delivery_id: `d-${alertId}-${o.transition ?? 'raised'}-${channelId}`,
    alert_id: alertId,
    attempt,
    ...(type === 'NotificationSent'
      ? { sent_at: at(t) }
      : {
          error: o.error ?? 'connection refused by 127.0.0.1:9 — is the receiver running?',
          failed_at: at(t),
          ...(o.retry !== false ? { retry_at: at(t + 30_000) } : {}),
        }),
  });

/**
 * Alerts and notifications across their lives, interleaved: raised, failed
 * deliveries retried then sent, acknowledged with a note, resolved, a channel
 * reconfigured and one removed.
 */
export function alertHistory(alerts: number): PlannedEvent[] {
  const out: PlannedEvent[] = [
    webhookConfigured('c1', 1000),
    webhookConfigured('c2', 2000, { name: 'spare' }),
  ];
  let t = 10_000;
  for (let i = 0; i < alerts; i++) {
    const id = `a${i}`;
    out.push(
      alertRaised(id, (t += 1000), {
        hostId: `h${i % 3}`,
        hostname: `web-0${i % 3}`,
        severity: i % 2 ? 'warning' : 'error',
      }),
    );
    out.push(notification('NotificationFailed', id, 'c1', 1, (t += 1000)));
    out.push(notification('NotificationSent', id, 'c1', 2, (t += 1000)));
    if (i % 3 === 0) out.push(alertAcknowledged(id, (t += 1000), `looking at it (${i})`));
    if (i % 2 === 0) {
      out.push(alertResolved(id, (t += 1000)));
      out.push(notification('NotificationSent', id, 'c1', 1, (t += 1000), { transition: 'resolved' }));
    }
  }
  out.push(
    webhookConfigured('c1', (t += 1000), {
      name: 'ops webhook (errors)',
      routing: { min_severity: 'error' },
    }),
  );
  out.push(planned('channel-c2', 'ChannelRemoved', { channel_id: 'c2', removed_at: at((t += 1000)) }, ALICE));
  return out;
}
