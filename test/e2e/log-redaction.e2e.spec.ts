/**
 * Secrets never reach a log, at the most verbose level, on any path: the
 * control plane's request lines (bodies at trace), its error answers and its
 * agent WebSocket message log, and the agent's own log of what it receives.
 * Real control plane, real agent, real requests; the assertions read the
 * processes' actual output.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually, FleetAgent } from '../support/fleet';
import { RestClient } from '../support/rest-client';

const REPO_PASSWORD = `repo-pw-${process.pid}-e2e`;
const REPO_CREDENTIAL = `repo-cred-${process.pid}-e2e`;
const MALFORMED_SECRET = `malformed-${process.pid}-e2e`;
const WRONG_PASSWORD = `wrong-login-${process.pid}-e2e`;

type LogLine = Record<string, unknown> & { msg?: string };

function jsonLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v === 'object' && v !== null) out.push(v as LogLine);
    } catch {
      // banner lines are not JSON
    }
  }
  return out;
}

const at = (o: unknown, ...keys: string[]): unknown =>
  keys.reduce<unknown>(
    (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined),
    o,
  );

describe('no secret in any log, even at trace level (real control plane and agent)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-redaction-'));
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let agent: FleetAgent;
  let hostId = '';
  let agentSecret = '';

  before(async () => {
    fs.mkdirSync(path.join(root, 'cp'));
    cp = await ControlPlaneProcess.start({
      dataDir: path.join(root, 'cp'),
      env: { RF_LOG_LEVEL: 'trace' },
      startTimeoutMs: 60_000,
    });
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    agent = new FleetAgent({
      dir: path.join(root, 'agent'),
      resticBin: '/usr/bin/restic',
      config: { log_level: 'trace' },
    });
    hostId = await agent.enrol(admin, cp.url);
    agentSecret = String((fs.readFileSync(agent.configPath, 'utf8').match(/agent_secret: (\S+)/) ?? [])[1]);
    agent.start();
    await eventually(
      'the agent to come online',
      async () => (await admin.get<{ status: string }>(`/api/hosts/${hostId}`)).body.status === 'online',
      60_000,
    );

    const put = await admin.put(`/api/hosts/${hostId}/repository`, {
      url: 'rest:http://127.0.0.1:9/redaction/',
      password: REPO_PASSWORD,
      username: 'backup-user',
      credential: REPO_CREDENTIAL,
    });
    assert.ok(put.status < 300, JSON.stringify(put.body));
    await eventually(
      'the agent to log the config.update it received',
      () => agent.logLines.some((l) => l.includes('"config.update"')),
      30_000,
    );
    // A body that is not JSON, with a secret in it: the error path must not echo it into the log.
    const csrf = await admin.get<{ csrf_token: string }>('/api/auth/me');
    await fetch(`${cp.url}/api/hosts/${hostId}/repository`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf.body.csrf_token },
      body: `{"url":"/r","password":"${MALFORMED_SECRET}",`,
    });
    const failed = await new RestClient(cp.url).post('/api/auth/login', {
      username: ADMIN_USER,
      password: WRONG_PASSWORD,
    });
    assert.equal(failed.status, 401);
    // Let the last request lines reach the captured output.
    await eventually(
      'the failed login to be logged',
      () => cp.logText().includes('"statusCode":401'),
      10_000,
    );
  });

  after(async () => {
    await agent?.stop();
    await cp?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the control plane log holds none of the secrets it handled', () => {
    const text = cp.logText();
    for (const secret of [
      REPO_PASSWORD,
      REPO_CREDENTIAL,
      MALFORMED_SECRET,
      WRONG_PASSWORD,
      ADMIN_PASSWORD,
      agentSecret,
    ])
      assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 12)}…) is in the control plane log`);
  });

  it('the agent log holds none of them either', () => {
    const text = agent.logLines.join('\n');
    for (const secret of [REPO_PASSWORD, REPO_CREDENTIAL, agentSecret])
      assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 12)}…) is in the agent log`);
  });

  it('the paths that carried them were logged, with the secrets replaced', () => {
    const cpLines = jsonLines(cp.logText());
    const body = cpLines.find(
      (l) => at(l, 'req', 'method') === 'PUT' && at(l, 'body', 'username') === 'backup-user',
    );
    assert.ok(body, 'the PUT repository request line carries its body at trace level');
    assert.equal(at(body, 'body', 'password'), '[Redacted]');
    assert.equal(at(body, 'body', 'credential'), '[Redacted]');
    const login = cpLines.find(
      (l) => at(l, 'req', 'url') === '/api/auth/login' && at(l, 'res', 'statusCode') === 401,
    );
    assert.equal(at(login, 'body', 'password'), '[Redacted]');

    const out = cpLines.find(
      (l) => l.msg === 'agent message out' && at(l, 'envelope', 'type') === 'config.update',
    );
    assert.ok(out, 'the WebSocket message log shows the config.update sent to the agent');
    assert.equal(at(out, 'envelope', 'payload', 'repo_password'), '[Redacted]');
    assert.equal(at(out, 'envelope', 'payload', 'repo_credential'), '[Redacted]');
    assert.equal(at(out, 'envelope', 'payload', 'repo_username'), 'backup-user');

    const received = jsonLines(agent.logLines.join('\n')).find(
      (l) => l.msg === 'agent: message in' && at(l, 'envelope', 'type') === 'config.update',
    );
    assert.ok(received, 'the agent logs what it receives at trace level');
    assert.equal(at(received, 'envelope', 'payload', 'repo_password'), '[Redacted]');
    assert.equal(at(received, 'envelope', 'payload', 'repo_credential'), '[Redacted]');
  });
});
