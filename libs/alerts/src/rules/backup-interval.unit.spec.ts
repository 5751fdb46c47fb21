import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backupDeadline } from './backup-interval';

const t = (iso: string) => Date.parse(iso);
const H = 3_600_000;

describe('backupDeadline', () => {
  it('expects a daily backup one day after the last one, plus max(1 h, 25 %) grace', () => {
    const d = backupDeadline('0 2 * * *', t('2024-05-01T02:40:00Z'), undefined);
    assert.ok(d);
    assert.equal(d.intervalMs, 24 * H);
    assert.equal(d.graceMs, 6 * H);
    assert.equal(new Date(d.deadline).toISOString(), '2024-05-02T08:40:00.000Z');
  });

  it('counts a reference exactly on a fire time as that fire', () => {
    const d = backupDeadline('0 2 * * *', t('2024-05-01T02:00:00Z'), undefined);
    assert.equal(d?.intervalMs, 24 * H);
  });

  it('takes the interval that ends at the next fire for a reference in the last second before it', () => {
    // A job finishing at 04:12:24.145 on a 5 s schedule: the gap is 04:12:20 → 04:12:25, not 0.
    const seconds = backupDeadline('*/5 * * * * *', t('2026-12-05T04:12:24.145Z'), 0);
    assert.equal(seconds?.intervalMs, 5_000);
    assert.equal(seconds?.deadline, t('2026-12-05T04:12:29.145Z'));
    const daily = backupDeadline('0 2 * * *', t('2024-05-01T01:59:59.500Z'), undefined);
    assert.equal(daily?.intervalMs, 24 * H);
    assert.equal(daily?.graceMs, 6 * H);
  });

  it('takes the gap around the reference for irregular crons (Friday → Monday)', () => {
    const friday = backupDeadline('0 2 * * 1-5', t('2024-05-03T03:00:00Z'), undefined);
    assert.equal(friday?.intervalMs, 72 * H);
    assert.equal(friday?.graceMs, 18 * H);
    const tuesday = backupDeadline('0 2 * * 1-5', t('2024-05-07T03:00:00Z'), undefined);
    assert.equal(tuesday?.intervalMs, 24 * H);
  });

  it('keeps the 1 h floor for frequent schedules, and a set grace wins', () => {
    assert.equal(backupDeadline('*/15 * * * *', t('2024-05-01T00:05:00Z'), undefined)?.graceMs, H);
    assert.equal(backupDeadline('0 * * * *', t('2024-05-01T00:05:00Z'), 120)?.graceMs, 120_000);
    assert.equal(backupDeadline('*/10 * * * * *', t('2024-05-01T00:00:05Z'), 60)?.intervalMs, 10_000);
  });

  it('gives no deadline for a cron that never fires again or does not parse', () => {
    assert.equal(backupDeadline('0 0 1 1 * 2020', t('2024-05-01T00:00:00Z'), undefined), null);
    assert.equal(backupDeadline('not a cron', t('2024-05-01T00:00:00Z'), undefined), null);
  });
});
