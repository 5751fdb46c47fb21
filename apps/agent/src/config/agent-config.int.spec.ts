import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  ConfigError,
  defaultConfigPath,
  loadAgentConfig,
  parseAgentConfig,
  saveAgentConfig,
} from './agent-config';

describe('agent config file', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-cfg-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const base = {
    schema_version: 1,
    server: 'http://127.0.0.1:8080/',
    agent_id: 'a1',
    agent_secret: 's3cret',
  };

  it('round-trips through YAML with mode 0600 and defaults filled in', () => {
    const p = path.join(dir, 'nested', 'agent.yaml');
    const cfg = parseAgentConfig(base, p);
    saveAgentConfig(p, cfg);
    assert.equal(fs.statSync(p).mode & 0o777, 0o600);
    const back = loadAgentConfig(p);
    assert.deepEqual(back, cfg);
    assert.equal(back.server, 'http://127.0.0.1:8080');
    assert.equal(back.heartbeat_interval_s, 30);
    assert.equal(back.outbox_max_bytes, 256 * 1024 * 1024);
    assert.equal(back.state_dir, path.join(dir, 'nested', 'state'));
    assert.equal(fs.readdirSync(path.dirname(p)).length, 1, 'no temp file left behind');
  });

  it('names the bad field', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, schema_version: 2 }, 'schema_version'],
      [{ ...base, server: 'not a url' }, 'server'],
      [{ ...base, agent_id: undefined }, 'agent_id'],
      [{ ...base, agent_secret: 5 }, 'agent_secret'],
      [{ ...base, heartbeat_interval_s: 0 }, 'heartbeat_interval_s'],
      [{ ...base, outbox_max_bytes: 'big' }, 'outbox_max_bytes'],
      [{ ...base, log_level: 'loud' }, 'log_level'],
    ];
    for (const [doc, field] of cases) {
      assert.throws(
        () => parseAgentConfig(doc, '/x/agent.yaml'),
        (e: unknown) => e instanceof ConfigError && e.field === field && e.message.includes(field),
        field,
      );
    }
  });

  it('servers: several control-plane URLs in order, after server:, without repeats; round-trips', () => {
    const p = path.join(dir, 'agent.yaml');
    const cfg = parseAgentConfig(
      { ...base, servers: ['https://cp-b:8080', 'http://127.0.0.1:8080', 'https://cp-c/'] },
      p,
    );
    assert.deepEqual(cfg.servers, ['http://127.0.0.1:8080', 'https://cp-b:8080', 'https://cp-c']);
    assert.equal(cfg.server, 'http://127.0.0.1:8080');
    saveAgentConfig(p, cfg);
    assert.deepEqual(loadAgentConfig(p).servers, cfg.servers);
    const only = parseAgentConfig({ ...base, server: undefined, servers: ['https://cp-b:8080'] }, p);
    assert.deepEqual([only.server, only.servers], ['https://cp-b:8080', ['https://cp-b:8080']]);
    assert.equal(parseAgentConfig(base, p).auto_update, false);
    assert.equal(parseAgentConfig({ ...base, auto_update: true }, p).auto_update, true);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ ...base, servers: 'http://cp-b' }, 'servers'],
      [{ ...base, servers: [] }, 'servers'],
      [{ ...base, servers: ['http://cp-b', 'ftp://cp-c'] }, 'servers.1'],
      [{ ...base, server: undefined }, 'server'],
      [{ ...base, auto_update: 'yes' }, 'auto_update'],
    ];
    for (const [doc, field] of bad) {
      assert.throws(
        () => parseAgentConfig(doc, p),
        (e: unknown) => e instanceof ConfigError && e.field === field && e.message.includes(field),
        field,
      );
    }
  });

  it('a missing file tells to enrol first; an unparsable one is moved aside', () => {
    assert.throws(() => loadAgentConfig(path.join(dir, 'none.yaml')), /run "restic-fleet-agent enrol/);
    const p = path.join(dir, 'agent.yaml');
    fs.writeFileSync(p, 'a: [b\n');
    assert.throws(() => loadAgentConfig(p), /moved aside/);
    assert.ok(!fs.existsSync(p));
    assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('agent.yaml.corrupt-')).length, 1);
  });

  it('hooks are off unless the host opts in; the opt-in survives a save', () => {
    const p = path.join(dir, 'agent.yaml');
    assert.equal(parseAgentConfig(base, p).allow_hooks, false);
    const cfg = parseAgentConfig({ ...base, allow_hooks: true }, p);
    saveAgentConfig(p, cfg);
    assert.equal(loadAgentConfig(p).allow_hooks, true);
    assert.match(fs.readFileSync(p, 'utf8'), /^allow_hooks: true$/m);
    assert.throws(
      () => parseAgentConfig({ ...base, allow_hooks: 'yes' }, p),
      (e: unknown) => e instanceof ConfigError && e.field === 'allow_hooks',
    );
  });

  it('refuses http:// to another machine unless allow_insecure is set, and says why', () => {
    const p = path.join(dir, 'agent.yaml');
    assert.throws(
      () => parseAgentConfig({ ...base, server: 'http://fleet.example.com:8080' }, p),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.field === 'server' &&
        /agent secret and repository passwords would cross the network unencrypted/.test(e.message) &&
        /https:\/\/ URL, or set allow_insecure: true/.test(e.message),
    );
    const allowed = parseAgentConfig({ ...base, server: 'http://10.0.0.5:8080', allow_insecure: true }, p);
    saveAgentConfig(p, allowed);
    assert.equal(loadAgentConfig(p).server, 'http://10.0.0.5:8080', 'the opt-in is written back');
    for (const server of [
      'https://fleet.example.com',
      'http://localhost:8080',
      'http://127.0.0.53:8080',
      'http://[::1]:8080',
    ]) {
      assert.equal(parseAgentConfig({ ...base, server }, p).server, server, server);
    }
  });

  it('checks every URL of servers: for plain http to another machine, naming the entry', () => {
    const p = path.join(dir, 'agent.yaml');
    assert.throws(
      () => parseAgentConfig({ ...base, servers: ['https://cp-a', 'http://cp-b:8080/'] }, p),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.field === 'servers.1' &&
        /http:\/\/cp-b:8080 uses plain http/.test(e.message),
    );
    assert.deepEqual(
      parseAgentConfig({ ...base, servers: ['https://cp-a', 'http://cp-b:8080'], allow_insecure: true }, p)
        .servers,
      ['http://127.0.0.1:8080', 'https://cp-a', 'http://cp-b:8080'],
    );
  });

  it('defaults to /etc on Linux and ProgramData on Windows', () => {
    assert.equal(defaultConfigPath('linux', {}), '/etc/restic-fleet/agent.yaml');
    assert.equal(defaultConfigPath('win32', { ProgramData: 'D:\\PD' }), 'D:\\PD\\restic-fleet\\agent.yaml');
  });
});

describe('default state directory', () => {
  it('is /var/lib/restic-fleet/agent for the default Linux config, else beside the config', async () => {
    const { defaultStateDir } = await import('./agent-config');
    assert.equal(defaultStateDir('/etc/restic-fleet/agent.yaml', 'linux'), '/var/lib/restic-fleet/agent');
    assert.equal(defaultStateDir('/srv/x/agent.yaml', 'linux'), '/srv/x/state');
  });
});
