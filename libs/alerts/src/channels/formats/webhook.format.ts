import { createHmac } from 'node:crypto';
import type { WebhookSettings } from '../channel-config';
import type { AlertNotice } from '../notice';
import { jsonRequest, type OutboundRequest } from './outbound-request';

/** The webhook body of docs/alerts.md; field names are a contract with receivers. */
export function webhookBody(n: AlertNotice): Record<string, unknown> {
  const a = n.alert;
  return {
    event: n.event,
    alert: {
      id: a.id,
      rule: a.rule,
      severity: a.severity,
      state: a.state,
      summary: a.summary,
      ...(a.host ? { host: { id: a.host.id, hostname: a.host.hostname } } : {}),
      ...(a.repository_id !== undefined ? { repository_id: a.repository_id } : {}),
      ...(a.job_id !== undefined ? { job_id: a.job_id } : {}),
      raised_at: a.raised_at,
      ...(a.resolved_at !== undefined ? { resolved_at: a.resolved_at } : {}),
    },
    sent_at: n.sentAt.toISOString(),
  };
}

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the channel's secret. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** A JSON POST signed so the receiver can check it came from us and is fresh (X-RF-Timestamp, Unix seconds). */
export function webhookRequest(s: WebhookSettings, n: AlertNotice): OutboundRequest {
  const req = jsonRequest(s.url, webhookBody(n));
  const timestamp = String(Math.floor(n.sentAt.getTime() / 1000));
  return {
    ...req,
    headers: {
      ...req.headers,
      'x-rf-event': n.event,
      'x-rf-delivery': n.deliveryId,
      'x-rf-timestamp': timestamp,
      'x-rf-signature': webhookSignature(s.secret, timestamp, req.body),
    },
  };
}
