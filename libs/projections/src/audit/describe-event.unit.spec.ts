import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEvent } from './describe-event';
import { parseSince } from './audit.query';
import { planned, recorded } from '../testing/fleet-events.fixture';

const alice = { kind: 'user', id: 'u-alice', name: 'alice' };
const jobId = '1f2e3d4c-0000-4000-8000-000000000001';
const names = { hostName: (id: string) => (id === 'h1' ? 'web-01' : undefined) };

describe('describeEvent', () => {
  it('reads alert, channel and delivery events as sentences', () => {
    const alertId = '9a8b7c6d-0000-4000-8000-000000000001';
    const channelId = '5e4d3c2b-0000-4000-8000-000000000002';
    const say = (
      stream: string,
      type: string,
      data: Record<string, unknown>,
      actor: { kind: string; id: string; name?: string } = alice,
    ) => describeEvent(recorded(1, planned(stream, type, data, actor)), names).summary;
    assert.equal(
      say(
        `alert-${alertId}`,
        'AlertRaised',
        {
          alert_id: alertId,
          rule: 'job_failed',
          severity: 'error',
          host_id: 'h1',
          summary: 'backup failed',
        },
        { kind: 'system', id: 'alerts' },
      ),
      'system raised job_failed (error) on web-01: backup failed',
    );
    assert.equal(
      say(`alert-${alertId}`, 'AlertAcknowledged', { alert_id: alertId, by: 'u-alice', note: 'on it' }),
      'alice acknowledged alert 9a8b7c6d…: “on it”',
    );
    assert.equal(
      say(`channel-${channelId}`, 'ChannelConfigured', { channel_id: channelId, kind: 'slack', name: 'ops' }),
      'alice configured the slack channel ops',
    );
    assert.equal(
      say(`delivery-${alertId}`, 'NotificationFailed', {
        channel_id: channelId,
        alert_id: alertId,
        transition: 'raised',
        attempt: 2,
        error: 'receiver answered 500',
      }),
      'raised notice of alert 9a8b7c6d… through channel 5e4d3c2b… failed (attempt 2): receiver answered 500',
    );
  });

  it('says who requested what on which host', () => {
    const line = describeEvent(
      recorded(
        7,
        planned(
          `job-${jobId}`,
          'JobRequested',
          { job_id: jobId, host_id: 'h1', kind: 'backup', args: {} },
          alice,
        ),
      ),
      names,
    );
    assert.equal(line.summary, 'alice requested a backup of web-01 (job 1f2e3d4c…)');
    assert.equal(line.actor, 'alice');
    assert.equal(line.action, 'JobRequested');
    assert.equal(line.target, 'job 1f2e3d4c…');
    assert.equal(line.stream, `job-${jobId}`);
    assert.equal(line.position, '7');
  });

  it('describes an agent finishing a job with its exit code', () => {
    const line = describeEvent(
      recorded(
        8,
        planned(
          `job-${jobId}`,
          'JobFinished',
          { job_id: jobId, status: 'succeeded', exit_code: 0 },
          { kind: 'agent', id: 'h1' },
        ),
      ),
      names,
    );
    assert.equal(line.summary, 'agent web-01 finished job 1f2e3d4c… succeeded (exit 0)');
  });

  it('describes a schedule firing on a host', () => {
    const line = describeEvent(
      recorded(
        9,
        planned(
          'schedules-h1',
          'ScheduleFired',
          { host_id: 'h1', schedule_id: 'nightly', scheduled_at: '2026-11-01T02:00:00Z', job_id: 'j' },
          { kind: 'agent', id: 'h1' },
        ),
      ),
      names,
    );
    assert.equal(line.summary, 'schedule nightly fired on web-01');
  });

  it('never prints repository secrets', () => {
    const line = describeEvent(
      recorded(
        10,
        planned(
          'host-h1',
          'RepositoryConfigured',
          { host_id: 'h1', url: 'rest:https://h/', password: { ciphertext: 'SECRETBLOB' } },
          alice,
        ),
      ),
      names,
    );
    assert.equal(line.summary, 'alice configured the repository of web-01');
    assert.ok(!JSON.stringify(line).includes('SECRETBLOB'));
  });

  it('describes identity events without their hashes', () => {
    const line = describeEvent(
      recorded(
        11,
        planned(
          'user-u1',
          'UserCreated',
          { user_id: 'u1', username: 'bob', role: 'viewer', password_hash: '$argon2id$HASH' },
          alice,
        ),
      ),
    );
    assert.equal(line.summary, 'alice created user bob (role viewer)');
    assert.ok(!JSON.stringify(line).includes('HASH'));
  });

  it('falls back to the type for events it does not know', () => {
    const line = describeEvent(
      recorded(12, planned('host-h1', 'SomethingNew', { host_id: 'h1' }, alice)),
      names,
    );
    assert.equal(line.summary, 'alice: SomethingNew');
    assert.equal(line.target, 'host web-01');
  });
});

describe('parseSince', () => {
  const now = new Date('2026-11-10T12:00:00.000Z');
  it('accepts relative ages and ISO times', () => {
    assert.equal(parseSince('24h', now).toISOString(), '2026-11-09T12:00:00.000Z');
    assert.equal(parseSince('30m', now).toISOString(), '2026-11-10T11:30:00.000Z');
    assert.equal(parseSince('7d', now).toISOString(), '2026-11-03T12:00:00.000Z');
    assert.equal(parseSince('2026-11-01T00:00:00Z', now).toISOString(), '2026-11-01T00:00:00.000Z');
  });
  it('rejects anything else naming the field', () => {
    assert.throws(() => parseSince('yesterday', now), /since: expected/);
  });
});
