import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProjectionHarness } from '../testing/projection.harness';
import { ALICE, at, planned } from '../testing/fleet-events.fixture';
import { notification, SEALED_SECRET, webhookConfigured } from '../testing/alert-events.fixture';
import {
  notificationsProjection,
  type NotificationChannelRow,
  type NotificationDeliveryRow,
} from './notifications.projection';

const channel = (h: ProjectionHarness, id: string) =>
  h.row<NotificationChannelRow>('notification_channels', { id });
const delivery = (h: ProjectionHarness, id: string) =>
  h.row<NotificationDeliveryRow>('notification_deliveries', { delivery_id: id });

describe('notifications projection (pure evolve)', () => {
  it('a channel keeps its plain fields and shows each secret only as set', () => {
    const h = new ProjectionHarness(notificationsProjection).given(
      planned(
        'channel-c1',
        'ChannelConfigured',
        {
          channel_id: 'c1',
          kind: 'ntfy',
          name: 'phone',
          settings: { server: 'https://ntfy.example', topic: 'backups' },
          routing: { min_severity: 'warning', rules: ['job_failed'] },
          configured_at: at(100),
        },
        ALICE,
      ),
      webhookConfigured('c2', 200),
    );
    assert.deepEqual(JSON.parse(channel(h, 'c1')!.settings), {
      server: 'https://ntfy.example',
      topic: 'backups',
      token: { set: false },
    });
    assert.deepEqual(JSON.parse(channel(h, 'c1')!.routing!), {
      min_severity: 'warning',
      rules: ['job_failed'],
    });
    const webhook = channel(h, 'c2')!;
    assert.deepEqual(JSON.parse(webhook.settings), { url: { set: true }, secret: { set: true } });
    assert.equal(webhook.routing, null);
    assert.ok(!JSON.stringify(h.rows('notification_channels')).includes(SEALED_SECRET.ciphertext));
  });

  it('a reconfigured channel keeps when it was created; a removed one is gone', () => {
    const h = new ProjectionHarness(notificationsProjection).given(
      webhookConfigured('c1', 100),
      webhookConfigured('c1', 500, { name: 'renamed' }),
    );
    assert.equal(channel(h, 'c1')?.name, 'renamed');
    assert.equal(channel(h, 'c1')?.created_at, at(100));
    assert.equal(channel(h, 'c1')?.configured_at, at(500));
    h.given(planned('channel-c1', 'ChannelRemoved', { channel_id: 'c1', removed_at: at(600) }, ALICE));
    assert.equal(channel(h, 'c1'), undefined);
  });

  it('a delivery follows its attempts: retrying with the error, then sent; nothing older wins afterwards', () => {
    const h = new ProjectionHarness(notificationsProjection).given(
      notification('NotificationFailed', 'a1', 'c1', 1, 100, { error: 'receiver answered 500' }),
    );
    assert.deepEqual(delivery(h, 'd-a1-raised-c1'), {
      delivery_id: 'd-a1-raised-c1',
      channel_id: 'c1',
      alert_id: 'a1',
      job_id: null,
      transition: 'raised',
      reminder: null,
      attempt: 1,
      result: 'retrying',
      error: 'receiver answered 500',
      retry_at: at(30_100),
      at: at(100),
    });
    h.given(notification('NotificationSent', 'a1', 'c1', 2, 200));
    const sent = delivery(h, 'd-a1-raised-c1');
    assert.equal(sent?.result, 'sent');
    assert.equal(sent?.attempt, 2);
    assert.equal(sent?.error, null);
    h.given(
      notification('NotificationFailed', 'a1', 'c1', 1, 300),
      notification('NotificationFailed', 'a1', 'c1', 3, 400),
    );
    assert.deepEqual(delivery(h, 'd-a1-raised-c1'), sent);
  });

  it('a delivery given up shows as failed with its error', () => {
    const h = new ProjectionHarness(notificationsProjection).given(
      notification('NotificationFailed', 'a1', 'c1', 1, 100, {
        error: 'receiver answered 404',
        retry: false,
      }),
    );
    assert.equal(delivery(h, 'd-a1-raised-c1')?.result, 'failed');
    assert.equal(delivery(h, 'd-a1-raised-c1')?.retry_at, null);
  });
});
