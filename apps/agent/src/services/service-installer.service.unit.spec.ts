import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { findUnitTemplate, renderSystemdUnit, windowsServiceConfig } from './service-installer.service';

describe('renderSystemdUnit', () => {
  const template = fs.readFileSync(findUnitTemplate(), 'utf8');

  it('fills ExecStart with node, the agent bin and run --config', () => {
    const unit = renderSystemdUnit(template, {
      nodePath: '/usr/bin/node',
      agentBin: '/opt/restic-fleet/bin/restic-fleet-agent.js',
      configPath: '/etc/restic-fleet/agent.yaml',
    });
    assert.match(
      unit,
      /^ExecStart=\/usr\/bin\/node \/opt\/restic-fleet\/bin\/restic-fleet-agent\.js run --config \/etc\/restic-fleet\/agent\.yaml$/m,
    );
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^KillMode=mixed$/m, 'only the agent gets SIGTERM; it stops restic with SIGINT');
    assert.match(unit, /^NoNewPrivileges=true$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    assert.ok(!/@[A-Z_]+@/.test(unit), 'no placeholder left');
  });

  it('keeps hardening that would stop restic from reading or restoring files out of the unit', () => {
    const unit = renderSystemdUnit(template, { nodePath: '/n', agentBin: '/b', configPath: '/c' });
    for (const forbidden of [
      'ProtectSystem=',
      'ProtectHome=',
      'ReadOnlyPaths=',
      'InaccessiblePaths=',
      'User=',
    ]) {
      assert.ok(!unit.split('\n').some((l) => l.startsWith(forbidden)), forbidden);
    }
  });

  it('quotes paths with spaces and rejects relative paths', () => {
    const unit = renderSystemdUnit(template, {
      nodePath: '/opt/node js/bin/node',
      agentBin: '/b',
      configPath: '/etc/restic fleet/agent.yaml',
    });
    assert.match(
      unit,
      /^ExecStart="\/opt\/node js\/bin\/node" \/b run --config "\/etc\/restic fleet\/agent\.yaml"$/m,
    );
    assert.throws(
      () => renderSystemdUnit(template, { nodePath: 'node', agentBin: '/b', configPath: '/c' }),
      /nodePath must be an absolute path/,
    );
  });
});

describe('windowsServiceConfig', () => {
  it('passes the config path in the environment, never in the wrapper options it splits on spaces', () => {
    const cfg = windowsServiceConfig({
      agentBin: 'C:\\Program Files\\restic-fleet\\bin\\restic-fleet-agent.js',
      configPath: 'C:\\ProgramData\\restic fleet\\agent.yaml',
      cancelGraceS: 10,
    });
    assert.equal(cfg.scriptOptions, 'run');
    assert.deepEqual(cfg.env, [
      { name: 'RF_AGENT_CONFIG', value: 'C:\\ProgramData\\restic fleet\\agent.yaml' },
      { name: 'RF_AGENT_SUPERVISOR', value: 'windows' },
    ]);
  });

  it('asks the agent to stop and waits longer than its own shutdown before anything is killed', () => {
    const cfg = windowsServiceConfig({ agentBin: 'C:\\a.js', configPath: 'C:\\c.yaml', cancelGraceS: 25 });
    assert.equal(cfg.stopparentfirst, true);
    assert.equal(cfg.stoptimeout, 55, 'cancel grace + 20 s of agent shutdown, plus a margin');
  });
});
