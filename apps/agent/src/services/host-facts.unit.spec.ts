import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentVersion, helloFacts, wireArch, wireOs } from './host-facts';

describe('host facts', () => {
  it('spells os and arch as the reference system does', () => {
    assert.equal(wireOs('linux'), 'linux');
    assert.equal(wireOs('win32'), 'windows');
    assert.equal(wireOs('darwin'), 'darwin');
    assert.equal(wireArch('x64'), 'amd64');
    assert.equal(wireArch('arm64'), 'arm64');
  });

  it('reports the package version, protocol 1 and a boot time in the past', () => {
    const f = helloFacts('0.14.0');
    assert.equal(f.protocol_version, 1);
    assert.equal(f.agent_version, agentVersion());
    assert.match(f.agent_version, /^\d+\.\d+\.\d+/);
    assert.equal(f.restic_version, '0.14.0');
    assert.ok(Date.parse(f.boot_time) < Date.now());
  });
});
