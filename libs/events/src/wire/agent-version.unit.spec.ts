import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareAgentVersions, isAgentVersion, isNewerAgentVersion } from './agent-version';

describe('agent versions', () => {
  it('orders by major, minor, patch numerically', () => {
    assert.ok(compareAgentVersions('0.1.0', '0.0.9')! > 0);
    assert.ok(compareAgentVersions('0.10.0', '0.9.9')! > 0);
    assert.ok(compareAgentVersions('1.0.0', '0.99.99')! > 0);
    assert.equal(compareAgentVersions('2.3.4', '2.3.4'), 0);
  });

  it('puts a pre-release before its release and orders pre-release fields as semver does', () => {
    const ascending = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
    ];
    for (let i = 1; i < ascending.length; i++) {
      assert.ok(
        compareAgentVersions(ascending[i - 1]!, ascending[i]!)! < 0,
        `${ascending[i - 1]} < ${ascending[i]}`,
      );
      assert.ok(
        compareAgentVersions(ascending[i]!, ascending[i - 1]!)! > 0,
        `${ascending[i]} > ${ascending[i - 1]}`,
      );
    }
  });

  it('refuses to compare what is not a version, so nothing is offered or installed on a guess', () => {
    assert.equal(compareAgentVersions('latest', '0.1.0'), undefined);
    assert.equal(compareAgentVersions('0.1', '0.1.0'), undefined);
    assert.equal(isNewerAgentVersion('9.9.9; rm -rf /', '0.1.0'), false);
    assert.equal(isAgentVersion('0.1.0-rc.1'), true);
    assert.equal(isAgentVersion('v0.1.0'), false);
  });

  it('newer means strictly newer: the same version or an older one is never an update', () => {
    assert.equal(isNewerAgentVersion('0.1.0', '0.0.9'), true);
    assert.equal(isNewerAgentVersion('0.1.0', '0.1.0'), false);
    assert.equal(isNewerAgentVersion('0.0.9', '0.1.0'), false);
  });
});
