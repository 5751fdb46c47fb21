/**
 * Sets up alert channels and rule settings in a running control plane's log,
 * the way the control plane's AlertsService does (settings sealed with the data
 * dir's own secret key by `sealChannelSettings`, then `ChannelConfigured` /
 * `AlertRulesChanged` appended). The embedded log takes a second writer
 * while `serve` runs, as the CLI's commands do. Not a spec file.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { sealChannelSettings } from '@rf/alerts';
import { createSqliteEventStore } from '@rf/event-store';
import {
  ALERT_RULES_STREAM,
  type AlertRulesChangedData,
  type ChannelKind,
  type ChannelRouting,
  channelStream,
  type FleetEvent,
  fleetEvent,
  toEventData,
} from '@rf/events';
import { SecretBox } from '../../apps/control-plane/src/core/secret-box';
import { SecretKeyRepository } from '../../apps/control-plane/src/repositories/secret-key.repository';

async function appendAsAdmin(dataDir: string, stream: string, event: FleetEvent): Promise<void> {
  const store = createSqliteEventStore({ path: path.join(dataDir, 'events.db') });
  try {
    const id = randomUUID();
    await store.append(stream, [
      toEventData(event, {
        actor: { kind: 'user', id: 'test-admin' },
        correlation_id: id,
        causation_id: id,
        received_at: new Date().toISOString(),
      }),
    ]);
  } finally {
    await store.close();
  }
}

/** Configures a channel; returns its id. */
export async function configureChannel(
  dataDir: string,
  channel: { kind: ChannelKind; name: string; settings: Record<string, unknown>; routing?: ChannelRouting },
): Promise<string> {
  const box = new SecretBox(new SecretKeyRepository().load(path.join(dataDir, 'secret.key')));
  const id = randomUUID();
  await appendAsAdmin(
    dataDir,
    channelStream(id),
    fleetEvent('ChannelConfigured', {
      channel_id: id,
      kind: channel.kind,
      name: channel.name,
      settings: sealChannelSettings(channel.kind, channel.settings, box),
      ...(channel.routing ? { routing: channel.routing } : {}),
      configured_at: new Date().toISOString(),
    }),
  );
  return id;
}

/** Replaces the rule settings. */
export async function setAlertRules(
  dataDir: string,
  rules: Omit<AlertRulesChangedData, 'changed_at'>,
): Promise<void> {
  await appendAsAdmin(
    dataDir,
    ALERT_RULES_STREAM,
    fleetEvent('AlertRulesChanged', { ...rules, changed_at: new Date().toISOString() }),
  );
}
