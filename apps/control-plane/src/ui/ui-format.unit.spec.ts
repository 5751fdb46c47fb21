import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backupFreshness,
  bytes,
  bytesDelta,
  cronText,
  nextRun,
  nextScheduled,
  relative,
  statusTone,
  timestamp,
} from './ui-format';

const NOW = new Date('2026-11-22T12:00:00Z');
const hoursAgo = (h: number): string => new Date(NOW.getTime() - h * 3_600_000).toISOString();

describe('ui-format', () => {
  it('formats sizes in binary units and says — for unknown', () => {
    assert.equal(bytes(0), '0 B');
    assert.equal(bytes(1536), '1.5 KiB');
    assert.equal(bytes(5 * 1024 ** 3), '5.0 GiB');
    assert.equal(bytes(null), '—');
  });

  it('signs size changes with + and a true minus, ±0 for none', () => {
    assert.equal(bytesDelta(2048), '+2.0 KiB');
    assert.equal(bytesDelta(-300), '\u2212300 B');
    assert.equal(bytesDelta(0), '±0 B');
    assert.equal(bytesDelta(null), '—');
  });

  it('says how long ago, or how soon', () => {
    assert.equal(relative(hoursAgo(0.001), NOW), 'just now');
    assert.equal(relative(hoursAgo(0.5), NOW), '30 min ago');
    assert.equal(relative(hoursAgo(5), NOW), '5 h ago');
    assert.equal(relative(hoursAgo(72), NOW), '3 d ago');
    assert.equal(relative(hoursAgo(-2), NOW), 'in 2 h');
    assert.equal(relative(null, NOW), '—');
    assert.equal(timestamp('2026-11-22T15:04:59.123Z'), '2026-11-22 15:04 UTC');
  });

  it('describes cron in words and computes the next run in UTC', () => {
    assert.match(cronText('0 2 * * *') ?? '', /02:00/);
    assert.equal(cronText('not a cron'), null);
    assert.equal(nextRun('0 2 * * *', NOW)?.toISOString(), '2026-11-23T02:00:00.000Z');
    const next = nextScheduled(
      [
        { id: 'a', kind: 'backup', cron: '0 2 * * *', enabled: true },
        { id: 'b', kind: 'check', cron: '30 12 * * *', enabled: true },
        { id: 'c', kind: 'prune', cron: '1 12 * * *', enabled: false },
      ],
      NOW,
    );
    assert.deepEqual(next, { at: new Date('2026-11-22T12:30:00Z'), kind: 'check' });
  });

  it('colours the last backup against the backup schedule, a day without one', () => {
    const hourly = [{ id: 'h', kind: 'backup', cron: '0 * * * *', enabled: true }];
    assert.equal(backupFreshness(hoursAgo(1), hourly, NOW), 'ok');
    assert.equal(backupFreshness(hoursAgo(2.5), hourly, NOW), 'warn');
    assert.equal(backupFreshness(hoursAgo(4), hourly, NOW), 'bad');
    assert.equal(backupFreshness(hoursAgo(30), [], NOW), 'ok');
    assert.equal(backupFreshness(hoursAgo(60), [], NOW), 'warn');
    assert.equal(backupFreshness(hoursAgo(80), [], NOW), 'bad');
    assert.equal(backupFreshness(null, hourly, NOW), 'none');
  });

  it('maps statuses to badge tones', () => {
    assert.equal(statusTone('succeeded'), 'ok');
    assert.equal(statusTone('warning'), 'warn');
    assert.equal(statusTone('lost'), 'bad');
    assert.equal(statusTone('running'), 'info');
    assert.equal(statusTone('something'), '');
  });
});
