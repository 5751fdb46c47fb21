import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createSqliteEventStore } from '@rf/event-store';
import { alertStream, fleetEvent, hostStream, toEventData, type AlertSeverity } from '@rf/events';

/**
 * Writes hosts and raised alerts into a control plane's (not yet started)
 * log, through the catalog's validation, as the rules process would have
 * appended them. For specs of the alert routes and pages that need alerts
 * before anything raises one.
 */
export interface SeededHost {
  readonly id: string;
  readonly hostname: string;
}

export interface SeededAlert {
  readonly id: string;
  readonly rule: 'job_failed' | 'agent_offline' | 'backup_overdue' | 'backup_anomaly';
  readonly severity: AlertSeverity;
  readonly host: SeededHost;
  readonly summary: string;
  readonly raisedAt: string;
}

const SYSTEM = { kind: 'system', id: 'control-plane' } as const;

export async function seedAlertLog(
  dataDir: string,
  hosts: readonly SeededHost[],
  alerts: readonly SeededAlert[],
): Promise<void> {
  const store = createSqliteEventStore({ path: path.join(dataDir, 'events.db') });
  const meta = (at: string) => ({
    actor: SYSTEM,
    correlation_id: randomUUID(),
    causation_id: randomUUID(),
    received_at: at,
  });
  try {
    for (const h of hosts) {
      const at = new Date(Date.now() - 86_400_000).toISOString();
      await store.append(hostStream(h.id), [
        toEventData(
          fleetEvent('HostEnrolled', {
            host_id: h.id,
            hostname: h.hostname,
            os: 'linux',
            arch: 'amd64',
            agent_secret_hash: 'seeded-host-without-an-agent',
            enrolment_token_id: randomUUID(),
            enrolled_at: at,
          }),
          meta(at),
        ),
      ]);
    }
    for (const a of alerts) {
      await store.append(alertStream(a.id), [
        toEventData(
          fleetEvent('AlertRaised', {
            alert_id: a.id,
            rule: a.rule,
            severity: a.severity,
            subject: `host:${a.host.id}/${a.rule}`,
            host_id: a.host.id,
            hostname: a.host.hostname,
            summary: a.summary,
            details: { seeded: true },
            raised_at: a.raisedAt,
          }),
          meta(a.raisedAt),
        ),
      ]);
    }
  } finally {
    await store.close();
  }
}
