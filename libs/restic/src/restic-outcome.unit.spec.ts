import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyOutcome } from './restic-outcome';

const base = { command: 'backup', signal: null, stderrLines: [] as string[] };

describe('classifyOutcome (synthetic cases the fixtures do not cover)', () => {
  it('unknown exit codes fail as unknown_exit; 2 is a Go runtime crash', () => {
    assert.deepEqual(
      [classifyOutcome({ ...base, exitCode: 42 }).status, classifyOutcome({ ...base, exitCode: 42 }).code],
      ['failed', 'unknown_exit'],
    );
    const crash = classifyOutcome({ ...base, exitCode: 2, stderrLines: ['panic: runtime error'] });
    assert.deepEqual([crash.status, crash.code], ['failed', 'fatal']);
    assert.match(crash.message, /panic: runtime error/);
  });

  it('a cancel that lost the race to a clean exit is a success; our timeout is a timeout', () => {
    assert.equal(classifyOutcome({ ...base, exitCode: 0, cancelled: true }).status, 'succeeded');
    const t = classifyOutcome({ ...base, exitCode: 130, timedOut: true });
    assert.deepEqual([t.status, t.code], ['failed', 'timeout']);
  });

  it('killed by a signal (null exit code) or 143 is cancelled/interrupted', () => {
    assert.equal(classifyOutcome({ ...base, exitCode: null, signal: 'SIGKILL' }).code, 'interrupted');
    assert.equal(classifyOutcome({ ...base, exitCode: 143 }).status, 'cancelled');
  });

  it('rc 1 texts: connection refused is unreachable even with "Is there a repository"', () => {
    const o = classifyOutcome({
      ...base,
      command: 'snapshots',
      exitCode: 1,
      stderrLines: [
        'Fatal: unable to open config file: Head "http://127.0.0.1:1/config": dial tcp 127.0.0.1:1: connect: connection refused',
        'Is there a repository at the following location?',
      ],
    });
    assert.equal(o.code, 'unreachable');
  });

  it("exit 3 outside backup is a generic warning; rc 1 with nothing recognisable is fatal with restic's line", () => {
    assert.equal(classifyOutcome({ ...base, command: 'forget', exitCode: 3 }).status, 'warning');
    const f = classifyOutcome({
      ...base,
      command: 'restore',
      exitCode: 1,
      stderrLines: ['Fatal: There were 2 errors'],
    });
    assert.deepEqual([f.code, f.message], ['fatal', 'Fatal: There were 2 errors']);
  });
});
