import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentSocketUrl, backoffDelay, DEFAULT_BACKOFF, ServerRotation } from './agent-connection';

describe('reconnect backoff', () => {
  it('is full jitter under an exponential ceiling capped at the maximum', () => {
    const o = { ...DEFAULT_BACKOFF, initialMs: 1000, maxMs: 60_000 };
    assert.equal(
      backoffDelay(0, o, () => 0.999999),
      999,
    );
    assert.equal(
      backoffDelay(3, o, () => 0.5),
      4000,
    );
    assert.equal(
      backoffDelay(20, o, () => 0.999999),
      59_999,
    );
    assert.equal(
      backoffDelay(100, o, () => 0),
      0,
    );
  });
});

describe('agentSocketUrl', () => {
  it('maps http(s) to ws(s) and appends /agent', () => {
    assert.equal(agentSocketUrl('http://127.0.0.1:8080'), 'ws://127.0.0.1:8080/agent');
    assert.equal(agentSocketUrl('https://fleet.example/base/'), 'wss://fleet.example/base/agent');
  });
});

describe('control-plane URL rotation', () => {
  it('uses the first URL, moves to the next after a failed dial and wraps around', () => {
    const r = new ServerRotation(['http://a', 'http://b', 'http://c']);
    assert.equal(r.current, 'http://a');
    r.dialFailed();
    assert.equal(r.current, 'http://b');
    r.dialFailed();
    r.dialFailed();
    assert.equal(r.current, 'http://a');
  });

  it('starts again from the first URL after a connection that was up drops', () => {
    const r = new ServerRotation(['http://a', 'http://b']);
    r.dialFailed();
    assert.equal(r.current, 'http://b');
    r.connectionDropped();
    assert.equal(r.current, 'http://a');
  });

  it('needs at least one URL; one URL is always that URL', () => {
    assert.throws(() => new ServerRotation([]), /at least one/);
    const r = new ServerRotation(['http://only']);
    r.dialFailed();
    assert.equal(r.current, 'http://only');
  });
});
