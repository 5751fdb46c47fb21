import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RepositorySchedule } from '@rf/events';
import {
  argsForRepositoryFire,
  chooseFireHost,
  jobIdForRepositoryFire,
} from './repository-maintenance.rules';

/** Args as they are written to the log (validated classes carry unset fields as undefined). */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

const schedule = (s: Partial<RepositorySchedule> & Pick<RepositorySchedule, 'kind'>): RepositorySchedule =>
  ({ id: 's1', cron: '0 3 * * *', enabled: true, ...s }) as RepositorySchedule;

describe('repository maintenance rules', () => {
  it('gives each tick of a schedule one job id, the same every time it is asked', () => {
    const tick = new Date('2026-12-05T03:00:00.000Z');
    const a = jobIdForRepositoryFire('r1', 's1', tick);
    assert.equal(jobIdForRepositoryFire('r1', 's1', new Date(tick.getTime())), a);
    assert.notEqual(jobIdForRepositoryFire('r1', 's1', new Date(tick.getTime() + 60_000)), a);
    assert.notEqual(jobIdForRepositoryFire('r2', 's1', tick), a);
    assert.notEqual(jobIdForRepositoryFire('r1', 's2', tick), a);
  });

  it('runs a fire on the online host that ran the schedule least recently, never-run hosts first', () => {
    assert.equal(
      chooseFireHost([
        { hostId: 'a', online: true, lastRun: 5n },
        { hostId: 'b', online: true, lastRun: null },
        { hostId: 'c', online: true, lastRun: 2n },
      ]),
      'b',
    );
    assert.equal(
      chooseFireHost([
        { hostId: 'a', online: true, lastRun: 5n },
        { hostId: 'c', online: true, lastRun: 2n },
      ]),
      'c',
    );
    // Ties keep the attach order.
    assert.equal(
      chooseFireHost([
        { hostId: 'a', online: true, lastRun: null },
        { hostId: 'b', online: true, lastRun: null },
      ]),
      'a',
    );
  });

  it('fails over to an online host when the one whose turn it is is offline', () => {
    assert.equal(
      chooseFireHost([
        { hostId: 'a', online: false, lastRun: null },
        { hostId: 'b', online: true, lastRun: 9n },
      ]),
      'b',
    );
  });

  it('falls back to the least recently used host when none is online (the job waits for it), and to none without hosts', () => {
    assert.equal(
      chooseFireHost([
        { hostId: 'a', online: false, lastRun: 3n },
        { hostId: 'b', online: false, lastRun: 1n },
      ]),
      'b',
    );
    assert.equal(chooseFireHost([]), undefined);
  });

  it('makes forget keep its retention per host and paths, unless the schedule groups otherwise', () => {
    const forget = argsForRepositoryFire(schedule({ kind: 'forget', retention: { keep_last: 3 } }));
    assert.ok(forget.ok);
    assert.deepEqual(plain(forget.value), { policy: { keep_last: 3 }, group_by: ['host', 'paths'] });
    const byTags = argsForRepositoryFire(
      schedule({ kind: 'forget', retention: { keep_daily: 7 }, options: { group_by: ['tags'] } }),
    );
    assert.ok(byTags.ok);
    assert.deepEqual(plain(byTags.value), { policy: { keep_daily: 7 }, group_by: ['tags'] });
    const prune = argsForRepositoryFire(schedule({ kind: 'prune' }));
    assert.ok(prune.ok);
    assert.deepEqual(plain(prune.value), {});
  });

  it('names the bad field of a schedule whose args are invalid', () => {
    const bad = argsForRepositoryFire(schedule({ kind: 'forget' }));
    assert.equal(bad.ok, false);
    assert.ok(
      !bad.ok && bad.issues.some((i) => i.field.startsWith('retention') || i.field.startsWith('options')),
    );
  });
});
