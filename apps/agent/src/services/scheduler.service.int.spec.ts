import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { ScheduleStateRepository } from '../repositories/schedule-state.repository';
import { FakeClock } from './fake-clock';
import { ScheduleFire, ScheduleSetError, SchedulerService } from './scheduler.service';

const silent = pino({ level: 'silent' });
const MIN = 60_000;

describe('SchedulerService (fake clock, real state files)', () => {
  let dir: string;
  let fires: ScheduleFire[];
  const make = (clock: FakeClock): SchedulerService =>
    new SchedulerService(new ScheduleStateRepository(dir), clock, silent, (f) => fires.push(f));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sched-'));
    fires = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('acks the applied version and fires enabled schedules on their ticks only', () => {
    const clock = new FakeClock('2026-01-01T10:00:30Z');
    const s = make(clock);
    s.start();
    const ack = s.apply({
      version: 7,
      schedules: [
        { id: 'every-5', cron_expr: '*/5 * * * *', enabled: true },
        { id: 'off', cron_expr: '* * * * *', enabled: false },
      ],
    });
    assert.deepEqual(ack, { version: 7, applied_at: '2026-01-01T10:00:30.000Z' });
    assert.equal(s.version, 7);
    clock.advance(11 * MIN);
    assert.deepEqual(fires, [
      { schedule_id: 'every-5', scheduled_at: '2026-01-01T10:05:00.000Z' },
      { schedule_id: 'every-5', scheduled_at: '2026-01-01T10:10:00.000Z' },
    ]);
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'schedules.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(stored.schema_version, 1);
    assert.equal(stored.version, 7);
    s.stop();
    assert.equal(clock.pendingTimers, 0);
  });

  it('replaces the whole set: old entries stop firing, new ones start', () => {
    const clock = new FakeClock('2026-01-01T10:00:30Z');
    const s = make(clock);
    s.start();
    s.apply({ version: 1, schedules: [{ id: 'a', cron_expr: '* * * * *', enabled: true }] });
    clock.advance(MIN);
    assert.deepEqual(
      fires.map((f) => f.schedule_id),
      ['a'],
    );
    const ack = s.apply({ version: 2, schedules: [{ id: 'b', cron_expr: '*/2 * * * *', enabled: true }] });
    assert.equal(ack.version, 2);
    fires = [];
    clock.advance(4 * MIN);
    assert.deepEqual(
      fires.map((f) => f.schedule_id),
      ['b', 'b'],
    );
    assert.equal(s.schedule('a'), undefined);
    assert.equal(clock.pendingTimers, 1, 'only the new entry is armed');
  });

  it('re-acking the same version does not re-arm or fire', () => {
    const clock = new FakeClock('2026-01-01T10:00:30Z');
    const s = make(clock);
    const set = { version: 3, schedules: [{ id: 'a', cron_expr: '0 * * * *', enabled: true }] };
    const first = s.apply(set);
    clock.advance(5 * MIN);
    const second = s.apply(set);
    assert.deepEqual(second, first, 'same version and content: same ack, no new applied_at');
    assert.deepEqual(fires, []);
  });

  it('a tick missed while the agent was down fires once on return, not once per missed tick', () => {
    const clock = new FakeClock('2026-01-01T10:00:30Z');
    const s1 = make(clock);
    s1.start();
    s1.apply({ version: 1, schedules: [{ id: 'hourly', cron_expr: '0 * * * *', enabled: true }] });
    clock.advance(60 * MIN); // fires at 11:00
    assert.equal(fires.length, 1);
    s1.stop(); // agent goes down at 11:00:30
    fires = [];

    clock.advance(5 * 60 * MIN); // 11:00, 12:00 ... 16:00 missed while down
    const s2 = make(clock);
    s2.start();
    assert.deepEqual(fires, [{ schedule_id: 'hourly', scheduled_at: '2026-01-01T12:00:00.000Z' }]);
    assert.equal(s2.version, 1, 'the set came back from disk');

    // The control plane resends the same set on reconnect: no second catch-up fire.
    s2.apply({ version: 1, schedules: [{ id: 'hourly', cron_expr: '0 * * * *', enabled: true }] });
    // A restart right after the catch-up does not fire again either.
    s2.stop();
    const s3 = make(clock);
    s3.start();
    assert.equal(fires.length, 1);
    clock.advance(60 * MIN);
    assert.deepEqual(fires[1], { schedule_id: 'hourly', scheduled_at: '2026-01-01T17:00:00.000Z' });
  });

  it('a newly applied schedule does not fire for ticks before it existed', () => {
    const clock = new FakeClock('2026-01-01T10:30:00Z');
    const s = make(clock);
    s.start();
    s.apply({ version: 1, schedules: [{ id: 'daily', cron_expr: '0 3 * * *', enabled: true }] });
    assert.deepEqual(fires, []);
  });

  it('names the bad field of a schedule.set and keeps the previous set', () => {
    const clock = new FakeClock('2026-01-01T10:00:00Z');
    const s = make(clock);
    s.apply({ version: 1, schedules: [{ id: 'a', cron_expr: '* * * * *', enabled: true }] });
    assert.throws(
      () => s.apply({ version: 2, schedules: [{ id: 'b', enabled: true }] }),
      (e: unknown) => e instanceof ScheduleSetError && e.field === 'schedules[0].cron_expr',
    );
    assert.throws(
      () => s.apply({ version: 'x', schedules: [] }),
      (e: unknown) => e instanceof ScheduleSetError && e.field === 'version',
    );
    assert.equal(s.version, 1);
    assert.ok(s.schedule('a'));
  });

  it('skips an entry with an invalid cron expression but applies the rest', () => {
    const clock = new FakeClock('2026-01-01T10:00:30Z');
    const s = make(clock);
    s.apply({
      version: 4,
      schedules: [
        { id: 'bad', cron_expr: 'not a cron', enabled: true },
        { id: 'ok', cron_expr: '* * * * *', enabled: true },
      ],
    });
    clock.advance(MIN);
    assert.deepEqual(
      fires.map((f) => f.schedule_id),
      ['ok'],
    );
  });

  it('moves an unreadable schedules file aside and starts without schedules', () => {
    fs.writeFileSync(path.join(dir, 'schedules.json'), '{ not json');
    const clock = new FakeClock('2026-01-01T10:00:00Z');
    const s = make(clock);
    s.start();
    assert.equal(s.version, undefined);
    assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('schedules.json.corrupt-')).length, 1);
  });
});
