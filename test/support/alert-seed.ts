import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createSqliteEventStore } from '@rf/event-store';
import {
  alertStream,
  fleetEvent,
  hostStream,
  toEventData,
  type AlertSeverity,
  type FleetEvent,
} from '@rf/events';

/**
 * Writes events into a control plane's log while it is not running, through
 * the catalog's validation, as the rules process and the notifier would have
 * appended them. For specs of the alert routes and pages that need alerts and
 * deliveries before anything in this build raises or delivers one.
 */
export interface SeededHost {
  readonly id: string;
  readonly hostname: string;
}

export interface SeededAlert {
  readonly id: string;
  /** Rules whose alerts stay open without further facts: the rules process running in serve keeps them. */
  readonly rule: 'agent_offline' | 'backup_anomaly' | 'log_lines_dropped';
  readonly severity: AlertSeverity;
  readonly host: SeededHost;
  readonly summary: string;
  readonly raisedAt: string;
}

const SYSTEM = { kind: 'system', id: 'control-plane' } as const;

/** Appends `events` to `stream` of the SQLite log in `dataDir` (the control plane must be stopped). */
export async function appendToStoppedLog(
  dataDir: string,
  batches: ReadonlyArray<{ readonly stream: string; readonly events: readonly FleetEvent[] }>,
): Promise<void> {
  const store = createSqliteEventStore({ path: path.join(dataDir, 'events.db') });
  const receivedAt = new Date().toISOString();
  try {
    for (const b of batches) {
      await store.append(
        b.stream,
        b.events.map((e) =>
          toEventData(e, {
            actor: SYSTEM,
            correlation_id: randomUUID(),
            causation_id: randomUUID(),
            received_at: receivedAt,
          }),
        ),
      );
    }
  } finally {
    await store.close();
  }
}

/** Hosts enrolled a day ago (no agent ever connects) and alerts raised on them. */
export async function seedAlertLog(
  dataDir: string,
  hosts: readonly SeededHost[],
  alerts: readonly SeededAlert[],
): Promise<void> {
  const enrolledAt = new Date(Date.now() - 86_400_000).toISOString();
  await appendToStoppedLog(dataDir, [
    ...hosts.map((h) => ({
      stream: hostStream(h.id),
      events: [
        fleetEvent('HostEnrolled', {
          host_id: h.id,
          hostname: h.hostname,
          os: 'linux',
          arch: 'amd64',
          agent_secret_hash: 'seeded-host-without-an-agent',
          enrolment_token_id: randomUUID(),
          enrolled_at: enrolledAt,
        }),
      ],
    })),
    ...alerts.map((a) => ({
      stream: alertStream(a.id),
      events: [
        fleetEvent('AlertRaised', {
          alert_id: a.id,
          rule: a.rule,
          severity: a.severity,
          subject: `host:${a.host.id}`,
          host_id: a.host.id,
          hostname: a.host.hostname,
          summary: a.summary,
          details: { seeded: true },
          raised_at: a.raisedAt,
        }),
      ],
    })),
  ]);
}
