import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ResticError } from '../restic.errors';
import {
  argsForJob,
  backupArgs,
  checkArgs,
  forgetArgs,
  initArgs,
  lsArgs,
  pruneArgs,
  restoreArgs,
  snapshotsArgs,
  statsArgs,
  unlockArgs,
  withoutLock,
} from './restic-args';

describe('restic argument builders', () => {
  it('backup: --json, flag values as --flag=value, paths after -- so "-r" stays a path', () => {
    const inv = backupArgs({
      paths: ['/srv/data', '-r'],
      excludes: ['*.tmp', '-weird'],
      tags: ['daily', 'db'],
      oneFileSystem: true,
      excludeCaches: true,
      limitUpload: 512,
      limitDownload: 1024,
    });
    assert.equal(inv.command, 'backup');
    assert.deepEqual(inv.args, [
      '--json',
      '--exclude=*.tmp',
      '--exclude=-weird',
      '--tag=daily',
      '--tag=db',
      '--one-file-system',
      '--exclude-caches',
      '--limit-upload=512',
      '--limit-download=1024',
      '--',
      '/srv/data',
      '-r',
    ]);
  });

  it('backup without paths is rejected naming the field', () => {
    assert.throws(
      () => backupArgs({ paths: [] }),
      (e: unknown) => e instanceof ResticError && e.field === 'paths',
    );
  });

  it('forget: every keep rule, keep-tag, tag filter, group-by, prune', () => {
    const inv = forgetArgs({
      keepLast: 3,
      keepHourly: 24,
      keepDaily: 7,
      keepWeekly: 4,
      keepMonthly: 12,
      keepYearly: 2,
      keepWithin: '30d',
      keepTags: ['keep'],
      tags: ['daily'],
      groupBy: 'host,paths',
      prune: true,
    });
    assert.deepEqual(inv.args, [
      '--json',
      '--keep-last=3',
      '--keep-hourly=24',
      '--keep-daily=7',
      '--keep-weekly=4',
      '--keep-monthly=12',
      '--keep-yearly=2',
      '--keep-within=30d',
      '--keep-tag=keep',
      '--tag=daily',
      '--group-by=host,paths',
      '--prune',
    ]);
  });

  it('unlock never removes all locks; prune, check, init, snapshots, stats, ls', () => {
    assert.deepEqual(unlockArgs(), { command: 'unlock', args: [] });
    assert.deepEqual(pruneArgs({ maxUnused: '5%' }).args, ['--max-unused=5%']);
    assert.deepEqual(checkArgs({ readDataSubset: '1/5' }).args, ['--json', '--read-data-subset=1/5']);
    assert.deepEqual(initArgs().args, ['--json']);
    assert.deepEqual(snapshotsArgs({ groupBy: 'host' }).args, ['--json', '--group-by=host']);
    assert.deepEqual(statsArgs({ mode: 'raw-data', snapshotIds: ['abc12345'] }).args, [
      '--json',
      '--mode=raw-data',
      '--',
      'abc12345',
    ]);
    assert.deepEqual(lsArgs({ snapshotId: 'latest', paths: ['/etc'] }).args, [
      '--json',
      '--',
      'latest',
      '/etc',
    ]);
  });

  it('restore: target as --target=, snapshot after --, a snapshot id starting with - is rejected', () => {
    assert.deepEqual(
      restoreArgs({ snapshotId: 'latest', target: '/restore', includes: ['/etc'], excludes: ['*.log'] }).args,
      ['--json', '--target=/restore', '--include=/etc', '--exclude=*.log', '--', 'latest'],
    );
    assert.throws(
      () => restoreArgs({ snapshotId: '--delete', target: '/restore' }),
      (e: unknown) => e instanceof ResticError && e.field === 'snapshotId',
    );
    assert.throws(
      () => restoreArgs({ snapshotId: 'latest', target: '' }),
      (e: unknown) => e instanceof ResticError && e.field === 'target',
    );
  });

  it('argsForJob dispatches on kind', () => {
    assert.equal(argsForJob({ kind: 'backup', paths: ['/a'] }).command, 'backup');
    assert.equal(argsForJob({ kind: 'unlock' }).command, 'unlock');
    assert.equal(argsForJob({ kind: 'stats', mode: 'restore-size' }).args[1], '--mode=restore-size');
  });

  it('withoutLock adds --no-lock to the snapshot listing and stats, and refuses any command that writes', () => {
    assert.deepEqual(withoutLock(snapshotsArgs()), { command: 'snapshots', args: ['--no-lock', '--json'] });
    assert.deepEqual(withoutLock(statsArgs({ mode: 'raw-data' })), {
      command: 'stats',
      args: ['--no-lock', '--json', '--mode=raw-data'],
    });
    for (const inv of [
      backupArgs({ paths: ['/a'] }),
      forgetArgs({ keepLast: 1 }),
      pruneArgs(),
      checkArgs(),
    ]) {
      assert.throws(
        () => withoutLock(inv),
        (e: unknown) => e instanceof ResticError && /must not run without a lock/.test(e.message),
      );
    }
  });

  it('no builder ever emits -r/--repo or a password flag', () => {
    const all = [
      backupArgs({ paths: ['/a'] }),
      forgetArgs({ keepLast: 1 }),
      pruneArgs(),
      checkArgs(),
      unlockArgs(),
      initArgs(),
      restoreArgs({ snapshotId: 'latest', target: '/t' }),
      snapshotsArgs(),
      statsArgs(),
      lsArgs({ snapshotId: 'latest' }),
    ];
    for (const inv of all) {
      for (const a of inv.args)
        assert.ok(!/^(-r|--repo|--password|--remove-all)/.test(a), `${inv.command}: ${a}`);
    }
  });
});
