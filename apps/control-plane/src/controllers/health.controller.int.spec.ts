import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Module, type LoggerService } from '@nestjs/common';
import { startAuthTestServer, TestClient, type AuthTestServer } from './auth.test-harness';
import { HealthController } from './health.controller';
import { MetricsModule } from '../core/metrics.module';
import { HealthService } from '../services/health.service';

@Module({ imports: [MetricsModule], controllers: [HealthController], providers: [HealthService] })
class HealthTestModule {}

/** Keeps what Nest logs, as JSON text per call. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(...args: unknown[]): void {
    this.lines.push(JSON.stringify(args));
  }
  warn(...args: unknown[]): void {
    this.lines.push(JSON.stringify(args));
  }
  error(...args: unknown[]): void {
    this.lines.push(JSON.stringify(args));
  }
}

describe('/readyz (real app, real SQLite log)', () => {
  let server: AuthTestServer;
  const logs = new CapturingLogger();
  let admin: TestClient;
  let viewer: TestClient;

  before(async () => {
    server = await startAuthTestServer({
      env: { RF_ADMIN_USER: 'root', RF_ADMIN_PASSWORD: 'correct horse battery' },
      imports: [HealthTestModule],
      logger: logs,
    });
    admin = new TestClient(server.url);
    assert.equal((await admin.login('root', 'correct horse battery')).status, 200);
    const made = await admin.request('POST', '/api/users', {
      json: { username: 'watcher', role: 'viewer', password: 'password-123' },
      csrf: 'header',
    });
    assert.equal(made.status, 201);
    viewer = new TestClient(server.url);
    assert.equal((await viewer.login('watcher', 'password-123')).status, 200);
  });
  after(async () => {
    await server.close();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it('answers the public with ready and nothing else; admins see the checks', async () => {
    const anon = await new TestClient(server.url).request('GET', '/readyz');
    assert.equal(anon.status, 200);
    assert.deepEqual(anon.body, { status: 'ready' });
    const detail = await admin.request('GET', '/readyz');
    assert.equal(detail.status, 200);
    assert.deepEqual(detail.body, { status: 'ready', checks: [{ name: 'event_store', ok: true }] });
  });

  it('when a check fails, the public and non-admins get a generic 503; admins and the log get the reason', async () => {
    await server.store.close();
    for (const client of [new TestClient(server.url), viewer]) {
      const res = await client.request('GET', '/readyz');
      assert.equal(res.status, 503);
      assert.deepEqual(res.body, { status: 'not_ready' }, 'no check names, no error text');
    }
    const res = await admin.request('GET', '/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, {
      status: 'not_ready',
      checks: [{ name: 'event_store', ok: false, detail: 'the event store was closed' }],
    });
    const logged = logs.lines.filter((l) => l.includes('not ready'));
    assert.equal(logged.length, 1, 'logged once, not on every poll');
    assert.match(logged[0]!, /the event store was closed/);
  });
});
