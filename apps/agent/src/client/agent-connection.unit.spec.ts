import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentSocketUrl, backoffDelay, DEFAULT_BACKOFF } from './agent-connection';

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
