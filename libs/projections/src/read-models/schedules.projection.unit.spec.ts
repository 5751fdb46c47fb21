import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProjectionHarness } from '../testing/projection.harness';
import { at, planned } from '../testing/fleet-events.fixture';
import { schedulesProjection, type ScheduleFireRow, type ScheduleSetRow } from './schedules.projection';

const alice = { kind: 'user', id: 'u-alice', name: 'alice' };
const s = (type: string, data: Record<string, unknown>) =>
  planned('schedules-h1', type, { host_id: 'h1', ...data }, alice);
const nightly = [{ id: 'nightly', kind: 'backup', cron: '0 2 * * *', enabled: true }];

describe('schedules projection (pure evolve)', () => {
  it('tracks desired against applied versions; a stale change or apply is ignored', () => {
    const h = new ProjectionHarness(schedulesProjection).given(
      s('SchedulesChanged', { version: 2, schedules: nightly }),
      s('SchedulesChanged', { version: 1, schedules: [] }),
      s('SchedulesApplied', { version: 2, applied_at: at(10) }),
      s('SchedulesApplied', { version: 1, applied_at: at(20) }),
    );
    const set = h.row<ScheduleSetRow>('schedule_sets', { host_id: 'h1' });
    assert.deepEqual(
      { ...set, schedules: null },
      {
        host_id: 'h1',
        desired_version: 2,
        desired_at: at(1000),
        schedules: null,
        applied_version: 2,
        applied_at: at(10),
      },
    );
    // The list as the (upcast) event carries it: schema v1 schedules gain the host's own repository.
    const stored = JSON.parse(set!.schedules) as Array<Record<string, unknown>>;
    assert.deepEqual(
      stored.map(({ repository_id: _repo, ...rest }) => rest),
      nightly,
    );
    assert.equal(typeof stored[0]?.['repository_id'], 'string');
  });

  it('counts fires; a late fire of an earlier tick keeps the last job', () => {
    const h = new ProjectionHarness(schedulesProjection).given(
      s('ScheduleFired', { schedule_id: 'nightly', scheduled_at: at(30), job_id: 'j1' }),
      s('ScheduleFired', { schedule_id: 'nightly', scheduled_at: at(40), job_id: 'j2' }),
      s('ScheduleFired', { schedule_id: 'nightly', scheduled_at: at(35), job_id: 'j-late' }),
    );
    assert.deepEqual(h.row<ScheduleFireRow>('schedule_fires', { host_id: 'h1', schedule_id: 'nightly' }), {
      host_id: 'h1',
      schedule_id: 'nightly',
      last_scheduled_at: at(40),
      last_fired_at: at(3000),
      last_job_id: 'j2',
      fire_count: 3,
    });
  });
});
