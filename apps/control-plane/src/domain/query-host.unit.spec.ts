import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseQueryHost } from './query-host';

const hosts = [
  { id: 'h-c', hostname: 'db-1' },
  { id: 'h-a', hostname: 'web-1' },
  { id: 'h-b', hostname: 'web-2' },
];

describe('chooseQueryHost', () => {
  it('prefers the host that made the snapshot when it can answer', () => {
    assert.equal(chooseQueryHost(hosts, () => true, 'db-1'), 'h-c');
  });

  it('falls back to the first able host by id when the maker is offline', () => {
    assert.equal(chooseQueryHost(hosts, (id) => id !== 'h-c', 'db-1'), 'h-a');
  });

  it('falls back to the first able host by id when no host has that name', () => {
    assert.equal(chooseQueryHost(hosts, (id) => id === 'h-b' || id === 'h-c', 'laptop'), 'h-b');
  });

  it('answers null when no attached host can answer', () => {
    assert.equal(chooseQueryHost(hosts, () => false, 'web-1'), null);
    assert.equal(chooseQueryHost([], () => true, null), null);
  });
});
