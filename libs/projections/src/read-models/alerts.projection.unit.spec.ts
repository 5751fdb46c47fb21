import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProjectionHarness } from '../testing/projection.harness';
import { at } from '../testing/fleet-events.fixture';
import { alertAcknowledged, alertRaised, alertResolved } from '../testing/alert-events.fixture';
import { alertsProjection, type AlertRow } from './alerts.projection';

const rowOf = (h: ProjectionHarness, id: string) => h.row<AlertRow>('alerts', { id });

describe('alerts projection (pure evolve)', () => {
  it('a raised alert is open with everything the event said', () => {
    const h = new ProjectionHarness(alertsProjection).given(alertRaised('a1', 100));
    assert.deepEqual(rowOf(h, 'a1'), {
      id: 'a1',
      rule: 'job_failed',
      severity: 'error',
      subject: 'host:h1/kind:backup',
      state: 'open',
      host_id: 'h1',
      hostname: 'web-01',
      repository_id: null,
      job_id: 'job-of-a1',
      schedule_id: null,
      summary: 'backup job failed on web-01',
      details: '{"exit_code":1}',
      raised_at: at(100),
      acknowledged_at: null,
      acknowledged_by: null,
      acknowledged_by_name: null,
      ack_note: null,
      resolved_at: null,
      resolution: null,
    });
  });

  it('an acknowledgement records who and why; a resolution closes it and keeps the acknowledgement', () => {
    const h = new ProjectionHarness(alertsProjection).given(
      alertRaised('a1', 100),
      alertAcknowledged('a1', 200, 'disk swap tonight'),
    );
    assert.equal(rowOf(h, 'a1')?.state, 'acknowledged');
    assert.equal(rowOf(h, 'a1')?.acknowledged_by, 'u-alice');
    assert.equal(rowOf(h, 'a1')?.acknowledged_by_name, 'alice');
    assert.equal(rowOf(h, 'a1')?.ack_note, 'disk swap tonight');
    assert.equal(rowOf(h, 'a1')?.acknowledged_at, at(200));
    h.given(alertResolved('a1', 300));
    const row = rowOf(h, 'a1');
    assert.equal(row?.state, 'resolved');
    assert.equal(row?.resolved_at, at(300));
    assert.equal(row?.resolution, 'the next backup succeeded');
    assert.equal(row?.ack_note, 'disk swap tonight');
  });

  it('a repeated raise, a second acknowledgement and a second resolution change nothing', () => {
    const h = new ProjectionHarness(alertsProjection).given(
      alertRaised('a1', 100),
      alertAcknowledged('a1', 200, 'first'),
      alertResolved('a1', 300, 'first reason'),
    );
    const before = rowOf(h, 'a1');
    h.given(
      alertRaised('a1', 400, { summary: 'other' }),
      alertAcknowledged('a1', 500, 'second'),
      alertResolved('a1', 600, 'second reason'),
    );
    assert.deepEqual(rowOf(h, 'a1'), before);
  });

  it('events about an alert it never saw raised are ignored', () => {
    const h = new ProjectionHarness(alertsProjection).given(
      alertAcknowledged('ghost', 100),
      alertResolved('ghost', 200),
    );
    assert.equal(h.rows('alerts').length, 0);
  });
});
