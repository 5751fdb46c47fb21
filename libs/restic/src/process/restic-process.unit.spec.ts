import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { ResticError } from '../restic.errors';
import { ResticProcessRepository } from './restic-process.repository';

// Input checks happen before anything is started, so no restic is needed here.
describe('ResticProcessRepository input checks', () => {
  const runner = new ResticProcessRepository();
  const fieldOf = async (p: Promise<unknown>): Promise<string | undefined> => {
    try {
      await p;
    } catch (e) {
      if (e instanceof ResticError) return e.field;
      throw e;
    }
    return undefined;
  };

  it('names the bad field: bin, command, args, timeoutMs, repo.password, stdoutInto', async () => {
    const ok = { bin: '/usr/bin/restic', command: 'snapshots', args: ['--json'], timeoutMs: 1000 };
    assert.equal(await fieldOf(runner.run({ ...ok, bin: '' })), 'bin');
    assert.equal(await fieldOf(runner.run({ ...ok, command: '-r' })), 'command');
    assert.equal(await fieldOf(runner.run({ ...ok, args: ['--json', 3 as unknown as string] })), 'args');
    assert.equal(await fieldOf(runner.run({ ...ok, timeoutMs: 0 })), 'timeoutMs');
    assert.equal(await fieldOf(runner.run({ ...ok, repo: { url: '/r', password: '' } })), 'repo.password');
    // stdout handed to a socket cannot also be read here.
    const socket = new Socket();
    assert.equal(await fieldOf(runner.run({ ...ok, stdoutInto: socket, captureStdout: true })), 'stdoutInto');
    assert.equal(
      await fieldOf(runner.run({ ...ok, stdoutInto: socket, rawStdout: () => undefined })),
      'stdoutInto',
    );
  });

  it('an already-aborted signal returns a cancelled result without starting restic', async () => {
    const controller = new AbortController();
    controller.abort();
    const r = await runner.run({
      bin: '/nonexistent/restic',
      command: 'backup',
      args: [],
      timeoutMs: 1000,
      signal: controller.signal,
    });
    assert.deepEqual([r.cancelled, r.exitCode, r.pid], [true, null, undefined]);
  });
});
