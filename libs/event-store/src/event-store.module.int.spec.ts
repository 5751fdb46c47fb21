import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EVENT_STORE, isEventStoreError, type EventStore } from './event-store.port';
import { createEventStoreFromEnv } from './event-store.config';
import { EventStoreModule, type EventStoreModuleOptions } from './event-store.module';
import { refusedPort } from './esdb/refused-port.testing';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-es-module-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const event = () => ({ id: randomUUID(), type: 'ModuleTested', data: { ok: true } });

async function boot(options: EventStoreModuleOptions): Promise<INestApplicationContext> {
  @Module({ imports: [EventStoreModule.forRoot(options)] })
  class RootModule {}
  return NestFactory.createApplicationContext(RootModule, { logger: false, abortOnError: false });
}

describe('EventStoreModule.forRoot', () => {
  it('without RF_EVENTSTORE provides SQLite at $RF_DATA_DIR/events.db, creating the directory', async () => {
    const dataDir = path.join(dir, 'fresh', 'data');
    const app = await boot({ env: { RF_DATA_DIR: dataDir } });
    const store = app.get<EventStore>(EVENT_STORE);
    const written = await store.append('host-a', [event()]);
    assert.equal(written.nextExpectedRevision, 0);
    assert.ok(fs.existsSync(path.join(dataDir, 'events.db')), 'events.db created in RF_DATA_DIR');
    await app.close();
    await assert.rejects(store.append('host-a', [event()]), (e: unknown) => isEventStoreError(e, 'Closed'));

    // The same file is there for the next boot.
    const again = await boot({ env: { RF_DATA_DIR: dataDir, RF_EVENTSTORE: 'sqlite' } });
    try {
      const reread = [];
      for await (const e of again.get<EventStore>(EVENT_STORE).readStream('host-a')) reread.push(e.revision);
      assert.deepEqual(reread, [0]);
    } finally {
      await again.close();
    }
  });

  it('with RF_EVENTSTORE=sqlite:///abs/path.db uses that file', async () => {
    const file = path.join(dir, 'explicit', 'store.db');
    const app = await boot({
      env: { RF_EVENTSTORE: `sqlite://${file}`, RF_DATA_DIR: path.join(dir, 'unused') },
    });
    try {
      await app.get<EventStore>(EVENT_STORE).append('job-1', [event()]);
      assert.ok(fs.existsSync(file));
      assert.equal(fs.existsSync(path.join(dir, 'unused')), false);
    } finally {
      await app.close();
    }
  });

  it('with RF_EVENTSTORE=esdb://… provides the EventStoreDB adapter (an unreachable server answers Unavailable)', async () => {
    const port = await refusedPort();
    const app = await boot({ env: { RF_EVENTSTORE: `esdb://127.0.0.1:${port}?tls=false` } });
    const store = app.get<EventStore>(EVENT_STORE);
    try {
      await assert.rejects(store.append('job-1', [event()]), (e: unknown) =>
        isEventStoreError(e, 'Unavailable'),
      );
    } finally {
      await app.close();
    }
    await assert.rejects(store.append('job-1', [event()]), (e: unknown) => isEventStoreError(e, 'Closed'));
  });

  it('fails the boot on an invalid RF_EVENTSTORE, naming it and the accepted forms', async () => {
    await assert.rejects(
      boot({ env: { RF_EVENTSTORE: 'mysql://root:pw@db' } }),
      (err: unknown) =>
        err instanceof Error &&
        /^RF_EVENTSTORE: unsupported value/.test(err.message) &&
        err.message.includes('sqlite:///') &&
        err.message.includes('esdb://') &&
        !err.message.includes(':pw@'),
    );
  });
});

describe('createEventStoreFromEnv', () => {
  it('opens the configured SQLite store without Nest, and read-only for a CLI next to a writer', async () => {
    const env = { RF_DATA_DIR: path.join(dir, 'cli') };
    const writer = createEventStoreFromEnv(env);
    const reader = createEventStoreFromEnv(env, { readonly: true });
    try {
      const { position } = await writer.append('host-b', [event(), event()]);
      const head = await reader.headPosition();
      assert.deepEqual(head, position);
    } finally {
      await reader.close();
      await writer.close();
    }
  });
});
