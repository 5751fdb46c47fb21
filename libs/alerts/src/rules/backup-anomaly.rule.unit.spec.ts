import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetLog, HOUR, LiveRules, raisedOf, resolvedOf } from './alert-rules.testing';

const MiB = 1024 * 1024;
const stats = (files: number, processed = 1000 * MiB) => ({
  files_new: files / 2,
  files_changed: files / 2,
  data_added: 5 * MiB,
  total_bytes_processed: processed,
});

function history(log: FleetLog, n: number, paths = ['/srv']): void {
  for (let i = 0; i < n; i++)
    log.after(24 * HOUR).job(`n${paths.join()}${i}`, 'web-1', 'backup', 'succeeded', {
      stats: stats(100),
      paths,
      schedule: 'nightly',
    });
}

describe('backup_anomaly', () => {
  it('raises when a backup changes over 10x the usual files, and closes only when acknowledged', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
    const rules = new LiveRules(log);
    history(log, 5);
    assert.deepEqual(rules.evaluate(), []);
    log
      .after(24 * HOUR)
      .job('enc', 'web-1', 'backup', 'succeeded', { stats: stats(40_000), schedule: 'nightly' });
    const [a] = raisedOf(rules.evaluate());
    assert.equal(a.rule, 'backup_anomaly');
    assert.equal(a.job_id, 'enc');
    assert.equal(a.schedule_id, 'nightly');
    assert.equal(
      a.summary,
      'A backup on web-1.example changed or added 40,000 files, against a median of 100: check for mass encryption or a runaway process',
    );
    assert.deepEqual(a.details, {
      anomaly: 'files_changed',
      value: 40_000,
      median: 100,
      compared_with: 5,
      schedule_id: 'nightly',
      paths: ['/srv'],
    });
    log.after(24 * HOUR).job('enc2', 'web-1', 'backup', 'succeeded', { stats: stats(40_000) });
    assert.deepEqual(rules.evaluate(), []);
    log.ack(a.alert_id);
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.reason),
      ['acknowledged by u1'],
    );
  });

  it('raises when the processed size falls by more than half (a vanished mount)', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
    const rules = new LiveRules(log);
    history(log, 3);
    log.after(24 * HOUR).job('gone', 'web-1', 'backup', 'warning', { stats: stats(0, 10 * MiB) });
    assert.match(raisedOf(rules.evaluate())[0].summary, /read 10 MiB, less than half its median of 1000 MiB/);
  });

  it('compares a backup only with earlier backups of the same paths', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
    const rules = new LiveRules(log);
    history(log, 5, ['/srv']);
    log
      .after(HOUR)
      .job('home', 'web-1', 'backup', 'succeeded', { stats: stats(40_000, 10 * MiB), paths: ['/home'] });
    assert.deepEqual(rules.evaluate(), [], 'the first backup of /home has no history');
  });
});
