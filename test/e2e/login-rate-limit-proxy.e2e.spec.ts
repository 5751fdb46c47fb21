/**
 * Login rate limits behind a reverse proxy (RF_TRUSTED_PROXIES). Every
 * request here reaches the control plane from a loopback address of its own
 * choosing: 127.0.0.2 plays the trusted proxy that forwards two clients, and
 * 127.0.0.3 a peer that is not a proxy and tries to pick its address through
 * X-Forwarded-For.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';

const PROXY = '127.0.0.2';
const UNTRUSTED_PEER = '127.0.0.3';
/** AuthSettings.loginFailuresPerIp: failures per client per minute before it is refused. */
const PER_CLIENT_BUDGET = 10;

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** POST /api/auth/login from `from`, optionally with an X-Forwarded-For header. */
function login(
  base: string,
  from: string,
  username: string,
  password: string,
  xff?: string,
): Promise<Answer> {
  const url = new URL('/api/auth/login', base);
  const body = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: from,
        timeout: 15_000,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(xff ? { 'x-forwarded-for': xff } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('login request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Failed logins under distinct user names, so only the per-client budget is spent. */
async function exhaust(
  base: string,
  from: string,
  xff: string | ((i: number) => string),
  who: string,
): Promise<void> {
  for (let i = 0; i < PER_CLIENT_BUDGET; i++) {
    const r = await login(
      base,
      from,
      `${who}-${i}`,
      'wrong password',
      typeof xff === 'function' ? xff(i) : xff,
    );
    assert.equal(r.status, 401, `attempt ${i + 1} is judged on its credentials: ${r.body}`);
  }
}

describe('per-client login limits behind a trusted proxy (RF_TRUSTED_PROXIES)', () => {
  let cp: ControlPlaneProcess;

  before(async () => {
    cp = await ControlPlaneProcess.start({
      env: { RF_LISTEN: '127.0.0.1:0', RF_TRUSTED_PROXIES: PROXY },
      startTimeoutMs: 60_000,
    });
  });
  after(async () => {
    await cp?.stop();
    cp?.removeDataDir();
  });

  it('two clients behind one proxy address are limited separately', async () => {
    await exhaust(cp.url, PROXY, '203.0.113.10', 'client-a-guess');
    const lockedOut = await login(cp.url, PROXY, ADMIN_USER, ADMIN_PASSWORD, '203.0.113.10');
    assert.equal(lockedOut.status, 429, 'client A is over its budget, even with the right password');

    const other = await login(cp.url, PROXY, ADMIN_USER, ADMIN_PASSWORD, '203.0.113.20');
    assert.equal(other.status, 200, `client B behind the same proxy is not locked out: ${other.body}`);
    // The proxy appends the peer it saw; the client is the entry the trusted proxy added.
    const chained = await login(cp.url, PROXY, ADMIN_USER, ADMIN_PASSWORD, '198.51.100.7, 203.0.113.30');
    assert.equal(chained.status, 200, chained.body);
  });

  it('the audit trail records the failed logins under the forwarded client address, not the proxy', async () => {
    const ok = await login(cp.url, PROXY, ADMIN_USER, ADMIN_PASSWORD, '203.0.113.50');
    assert.equal(ok.status, 200);
    const cookie = ok.headers['set-cookie']?.map((c) => c.split(';')[0]).join('; ') ?? '';
    const audit = await fetch(`${cp.url}/api/audit?stream=user-unknown&actor=203.0.113.10`, {
      headers: { cookie, accept: 'application/json' },
    });
    const body = (await audit.json()) as { lines: unknown[] };
    assert.equal(body.lines.length, PER_CLIENT_BUDGET, JSON.stringify(body).slice(0, 500));
    const byProxy = await fetch(`${cp.url}/api/audit?stream=user-unknown&actor=${PROXY}`, {
      headers: { cookie, accept: 'application/json' },
    });
    assert.equal(((await byProxy.json()) as { lines: unknown[] }).lines.length, 0);
  });

  it("an untrusted peer's X-Forwarded-For is ignored: changing it does not escape the limit", async () => {
    await exhaust(cp.url, UNTRUSTED_PEER, (i) => `198.51.100.${i + 1}`, 'spoofer-guess');
    const next = await login(cp.url, UNTRUSTED_PEER, ADMIN_USER, ADMIN_PASSWORD, '198.51.100.200');
    assert.equal(next.status, 429, 'limited as the peer address it connects from, whatever header it sends');
    const viaProxy = await login(cp.url, PROXY, ADMIN_USER, ADMIN_PASSWORD, '203.0.113.40');
    assert.equal(viaProxy.status, 200, 'clients behind the proxy are unaffected');
  });
});
