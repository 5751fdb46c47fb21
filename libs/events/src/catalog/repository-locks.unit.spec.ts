import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JOB_KINDS } from './job-args';
import { jobLockClaims, locksCompatible, REPOSITORY_LOCKS, RESTIC_COMMAND_LOCKS } from './repository-locks';

describe('lock classes', () => {
  it('classify every job kind', () => {
    for (const kind of JOB_KINDS) assert.ok(REPOSITORY_LOCKS.includes(RESTIC_COMMAND_LOCKS[kind]), kind);
  });

  it('record what restic does: maintenance is exclusive, reading and writing snapshots shared, init/unlock none', () => {
    const byClass = (lock: string) =>
      Object.entries(RESTIC_COMMAND_LOCKS)
        .filter(([, l]) => l === lock)
        .map(([c]) => c)
        .sort();
    assert.deepEqual(byClass('exclusive'), ['check', 'forget', 'prune']);
    assert.deepEqual(byClass('none'), ['init', 'unlock']);
    assert.deepEqual(byClass('shared'), [
      'backup',
      'copy',
      'diff',
      'dump',
      'find',
      'ls',
      'restore',
      'snapshots',
      'stats',
    ]);
  });

  it('only shared locks coexist; none never conflicts', () => {
    assert.equal(locksCompatible('shared', 'shared'), true);
    assert.equal(locksCompatible('shared', 'exclusive'), false);
    assert.equal(locksCompatible('exclusive', 'shared'), false);
    assert.equal(locksCompatible('exclusive', 'exclusive'), false);
    for (const l of REPOSITORY_LOCKS) assert.equal(locksCompatible('none', l), true);
  });
});

describe('jobLockClaims', () => {
  it('one claim on the job’s repository; none for lock-free kinds', () => {
    assert.deepEqual(jobLockClaims({ kind: 'prune', repository_id: 'r1' }), [
      { repository_id: 'r1', lock: 'exclusive' },
    ]);
    assert.deepEqual(jobLockClaims({ kind: 'backup', repository_id: 'r1', args: { paths: ['/'] } }), [
      { repository_id: 'r1', lock: 'shared' },
    ]);
    assert.deepEqual(jobLockClaims({ kind: 'unlock', repository_id: 'r1' }), []);
    assert.deepEqual(jobLockClaims({ kind: 'init', repository_id: 'r1' }), []);
  });

  it('a copy claims its source and its destination, shared on both', () => {
    assert.deepEqual(jobLockClaims({ kind: 'copy', repository_id: 'r1', args: { to_repository_id: 'r2' } }), [
      { repository_id: 'r1', lock: 'shared' },
      { repository_id: 'r2', lock: 'shared' },
    ]);
    assert.deepEqual(
      jobLockClaims({ kind: 'copy', repository_id: 'r1', args: { to_repository_id: 'r1' } }),
      [{ repository_id: 'r1', lock: 'shared' }],
      'a copy onto itself is claimed once',
    );
  });
});
