import 'reflect-metadata';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { EVENT_STORE, EventStoreModule, type EventStore } from '@rf/event-store';
import {
  AuditQuery,
  DashboardQuery,
  HostsQuery,
  JobLogQuery,
  JobsQuery,
  isProjectionError,
} from '@rf/projections';
import { AppConfig } from '../core/app-config';
import { ConfigModule } from '../core/config.module';
import { ProjectionsModule } from './projections.module';
import { ProjectionStatus } from './projection-status.service';
import { JobLogRetention } from './job-log-retention.service';

const meta = (kind: string, id: string, name?: string) => ({
  actor: { kind, id, ...(name ? { name } : {}) },
  correlation_id: 'c1',
  causation_id: 'c1',
  received_at: '2026-11-01T00:00:00.000Z',
  schema_version: 1,
});

describe('ProjectionsModule (Nest, real SQLite event store and readmodels.db)', () => {
  let dir: string;
  let app: INestApplicationContext;

  const boot = async (): Promise<INestApplicationContext> => {
    const config = AppConfig.fromEnv({ RF_DATA_DIR: dir });
    @Module({
      imports: [
        ConfigModule.forRoot(config),
        EventStoreModule.forRoot({ config: config.eventStore }),
        ProjectionsModule,
      ],
    })
    class TestModule {}
    const ctx = await NestFactory.createApplicationContext(TestModule, { logger: false });
    ctx.enableShutdownHooks();
    await ctx.init();
    return ctx;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-projmod-'));
    app = await boot();
  });

  after(async () => {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('projects appended events and answers queries after waitForPosition', async () => {
    const store = app.get<EventStore>(EVENT_STORE);
    await store.append('host-h1', [
      {
        id: randomUUID(),
        type: 'HostEnrolled',
        data: {
          host_id: 'h1',
          hostname: 'web-01',
          os: 'linux',
          arch: 'amd64',
          agent_secret_hash: 'x',
          enrolment_token_id: 'e1',
          enrolled_at: '2026-11-01T00:00:00.000Z',
        },
        metadata: meta('system', 'enrolment'),
      },
    ]);
    const r = await store.append('job-j1', [
      {
        id: randomUUID(),
        type: 'JobRequested',
        data: {
          job_id: 'j1',
          host_id: 'h1',
          kind: 'backup',
          args: { paths: ['/srv'] },
          requested_at: '2026-11-01T00:01:00.000Z',
        },
        metadata: meta('user', 'u1', 'alice'),
      },
      {
        id: randomUUID(),
        type: 'JobFinished',
        data: { job_id: 'j1', status: 'succeeded', exit_code: 0, finished_at: '2000-01-01T00:00:00.000Z' },
        metadata: meta('agent', 'h1'),
      },
    ]);
    const status = app.get(ProjectionStatus);
    await status.waitForPosition(r.position, 5000);
    assert.equal(app.get(HostsQuery).get('h1')?.hostname, 'web-01');
    assert.equal(app.get(HostsQuery).get('h1')?.lastBackup?.status, 'succeeded');
    assert.equal(app.get(JobsQuery).get('j1')?.status, 'succeeded');
    assert.equal(app.get(DashboardQuery).summary(new Date('2026-11-01T12:00:00Z')).hosts.total, 1);
    const lag = await status.lag();
    assert.equal(lag.eventsBehind, 0);
    assert.equal(lag.running, true);

    const audit = await app.get(AuditQuery).lines({ actor: 'alice' });
    assert.deepEqual(
      audit.map((l) => l.summary),
      ['alice requested a backup of web-01 (job j1)'],
    );
  });

  it('prunes the log lines of jobs finished before the retention window', async () => {
    const store = app.get<EventStore>(EVENT_STORE);
    const r = await store.append('joblog-j1', [
      {
        id: randomUUID(),
        type: 'LogStreamLine',
        data: { job_id: 'j1', seq: 0, ts: '2000-01-01T00:00:00.000Z', stream: 'stdout', payload: 'old line' },
        metadata: meta('agent', 'h1'),
      },
    ]);
    await app.get(ProjectionStatus).waitForPosition(r.position, 5000);
    assert.equal(app.get(JobLogQuery).lines('j1').length, 1);
    assert.equal((await app.get(JobLogRetention).prune(new Date('2026-11-01T00:00:00Z'))).linesRemoved, 1);
    assert.equal(app.get(JobLogQuery).lines('j1').length, 0);
    assert.equal(app.get(JobsQuery).get('j1')?.logLineCount, 1, 'the job keeps its counters');
  });

  it('stops the runner on shutdown and resumes from its checkpoint on the next boot', async () => {
    const before = app.get(ProjectionStatus).checkpoint();
    await app.close();
    await assert.rejects(
      app.get(ProjectionStatus).waitForPosition({ commit: 10_000n, prepare: 10_000n }, 10),
      (err: unknown) => isProjectionError(err, 'RunnerStopped'),
    );
    app = await boot();
    assert.deepEqual(app.get(ProjectionStatus).checkpoint(), before);
    assert.equal(app.get(JobsQuery).get('j1')?.logLineCount, 1);
  });
});
