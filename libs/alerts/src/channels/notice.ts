import type { AlertRuleName, AlertSeverity } from '@rf/events';

/** An alert as notifications show it (the `alert` object of the webhook body, docs/alerts.md). */
export interface AlertView {
  readonly id: string;
  readonly rule: AlertRuleName;
  readonly severity: AlertSeverity;
  readonly state: 'open' | 'acknowledged' | 'resolved';
  readonly summary: string;
  readonly host?: { readonly id: string; readonly hostname: string };
  readonly repository_id?: string;
  readonly job_id?: string;
  readonly raised_at: string;
  readonly resolved_at?: string;
  /** Why it resolved (not part of the webhook body; chat and mail show it). */
  readonly resolution?: string;
}

export type AlertNoticeEvent = 'alert.raised' | 'alert.resolved' | 'alert.reminder' | 'test';

/** A notification about an alert: raised, resolved, a reminder, or a test. */
export interface AlertNotice {
  readonly type: 'alert';
  readonly event: AlertNoticeEvent;
  /** Stable per alert × transition × channel (× reminder): receivers de-duplicate on it. */
  readonly deliveryId: string;
  readonly alert: AlertView;
  readonly reminder?: number;
  readonly sentAt: Date;
}

/** A healthchecks ping about a scheduled job: it started, succeeded, or failed (`log`: a test that changes nothing). */
export interface JobPing {
  readonly type: 'ping';
  readonly transition: 'start' | 'success' | 'fail' | 'log';
  readonly deliveryId: string;
  readonly jobId: string;
  /** A short line for the check's log (the outcome and its error). */
  readonly detail: string;
  readonly sentAt: Date;
}

export type Notice = AlertNotice | JobPing;

/** The alert every "Send test" delivers. */
export function testNotice(deliveryId: string, sentAt: Date): AlertNotice {
  return {
    type: 'alert',
    event: 'test',
    deliveryId,
    sentAt,
    alert: {
      id: 'test',
      rule: 'job_failed',
      severity: 'info',
      state: 'open',
      summary: 'This is a test notification from restic-fleet: the channel works.',
      raised_at: sentAt.toISOString(),
    },
  };
}

const EVENT_WORD: Readonly<Record<AlertNoticeEvent, string>> = {
  'alert.raised': 'Raised',
  'alert.resolved': 'Resolved',
  'alert.reminder': 'Still open',
  test: 'Test',
};

/** `Raised: job_failed on web-1 (error)`, the line every channel leads with. */
export function headline(n: AlertNotice): string {
  if (n.event === 'test') return 'restic-fleet test notification';
  const where = n.alert.host ? ` on ${n.alert.host.hostname}` : '';
  const which = n.event === 'alert.reminder' && n.reminder !== undefined ? ` (reminder ${n.reminder})` : '';
  return `${EVENT_WORD[n.event]}: ${n.alert.rule}${where} (${n.alert.severity})${which}`;
}

/** The body lines under the headline, as plain text. */
export function bodyLines(n: AlertNotice): string[] {
  const lines = [n.alert.summary];
  if (n.event === 'alert.resolved' && n.alert.resolution) lines.push(`Resolved: ${n.alert.resolution}`);
  if (n.event !== 'test') {
    lines.push(
      `Raised ${n.alert.raised_at}${n.alert.resolved_at ? `, resolved ${n.alert.resolved_at}` : ''}`,
    );
    lines.push(`Alert ${n.alert.id}`);
  }
  return lines;
}

/** Colour per severity, resolved notices green. */
export function noticeColour(n: AlertNotice): {
  readonly hex: string;
  readonly name: 'good' | 'warning' | 'attention';
} {
  if (n.event === 'alert.resolved') return { hex: '2eb67d', name: 'good' };
  switch (n.alert.severity) {
    case 'error':
      return { hex: 'e01e5a', name: 'attention' };
    case 'warning':
      return { hex: 'ecb22e', name: 'warning' };
    case 'info':
      return { hex: '36c5f0', name: 'good' };
    default: {
      const _exhaustive: never = n.alert.severity;
      return _exhaustive;
    }
  }
}
