import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { installCommands, renderInstallScript, SERVER_URL_PLACEHOLDER } from './install-scripts';

describe('install script rendering', () => {
  const sh = `#!/bin/sh\nRF_SERVER_DEFAULT='${SERVER_URL_PLACEHOLDER}'\nmain "$@"\n`;
  const ps1 = `param(\n  [string]$Server = '${SERVER_URL_PLACEHOLDER}'\n)\n`;

  it('bakes the control plane URL into the single-quoted default of each script', () => {
    assert.equal(
      renderInstallScript(sh, 'sh', 'https://fleet.example.com'),
      `#!/bin/sh\nRF_SERVER_DEFAULT='https://fleet.example.com'\nmain "$@"\n`,
    );
    assert.equal(
      renderInstallScript(ps1, 'ps1', 'https://fleet.example.com/base'),
      `param(\n  [string]$Server = 'https://fleet.example.com/base'\n)\n`,
    );
  });

  it('escapes a quote for each language so the URL can never end the string early', () => {
    assert.ok(
      renderInstallScript(sh, 'sh', "http://h/it's").includes(`RF_SERVER_DEFAULT='http://h/it'\\''s'`),
    );
    assert.ok(renderInstallScript(ps1, 'ps1', "http://h/it's").includes(`$Server = 'http://h/it''s'`));
    assert.throws(() => renderInstallScript(sh, 'sh', 'http://h/\nrm -rf /'), /one line/);
  });

  it('refuses a template without exactly one placeholder', () => {
    assert.throws(() => renderInstallScript('#!/bin/sh\n', 'sh', 'http://h'), /exactly once/);
    assert.throws(() => renderInstallScript(sh + sh, 'sh', 'http://h'), /exactly once/);
  });

  it('builds the two one-liners "Add host" shows', () => {
    const c = installCommands('https://fleet.example.com', 'rfe_abc-DEF_123');
    assert.equal(
      c.linux,
      'curl -fsSL https://fleet.example.com/agent/install.sh | sudo sh -s -- --token rfe_abc-DEF_123',
    );
    assert.equal(
      c.windows,
      "& ([scriptblock]::Create((irm 'https://fleet.example.com/agent/install.ps1'))) -Token 'rfe_abc-DEF_123'",
    );
    assert.ok(
      installCommands("http://h/o'k", 't').linux.startsWith("curl -fsSL 'http://h/o'\\''k/agent/install.sh'"),
    );
  });
});
