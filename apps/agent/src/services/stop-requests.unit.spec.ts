import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { onStopRequest } from './stop-requests';

class FakeProcess extends EventEmitter {
  constructor(readonly connected: boolean) {
    super();
  }
}

describe('onStopRequest', () => {
  it("stops once on node-windows' shutdown message and ignores other messages", () => {
    const proc = new FakeProcess(true);
    const reasons: string[] = [];
    onStopRequest(proc, (r) => reasons.push(r), 'win32');
    proc.emit('message', 'hello');
    proc.emit('message', { type: 'shutdown' });
    assert.deepEqual(reasons, []);
    proc.emit('message', 'shutdown');
    proc.emit('SIGINT');
    proc.emit('disconnect');
    assert.deepEqual(reasons, ['service stop (shutdown message)'], 'one stop, whatever follows');
  });

  it('stops when the service wrapper goes away, and on Ctrl+Break on Windows', () => {
    const gone = new FakeProcess(true);
    const a: string[] = [];
    onStopRequest(gone, (r) => a.push(r), 'win32');
    gone.emit('disconnect');
    assert.deepEqual(a, ['service wrapper went away']);
    const brk = new FakeProcess(false);
    const b: string[] = [];
    onStopRequest(brk, (r) => b.push(r), 'win32');
    brk.emit('SIGBREAK');
    assert.deepEqual(b, ['SIGBREAK']);
  });

  it('on Linux without a wrapper: SIGTERM and SIGINT only', () => {
    const proc = new FakeProcess(false);
    const reasons: string[] = [];
    onStopRequest(proc, (r) => reasons.push(r), 'linux');
    assert.equal(proc.listenerCount('message'), 0);
    assert.equal(proc.listenerCount('SIGBREAK'), 0);
    proc.emit('SIGTERM');
    assert.deepEqual(reasons, ['SIGTERM']);
  });
});
