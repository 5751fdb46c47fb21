import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import {
  hostStream,
  jobStream,
  nodeStream,
  toEventData,
  type FleetEvent,
  type RecordedEvent,
} from '@rf/events';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { AppConfig } from '../core/app-config';
import { WritePositions } from '../domain/write-positions';
import { AgentSessions } from '../gateways/agent-sessions';
import { FleetEventWriter } from './fleet-event.writer';
import { FleetStateService } from './fleet-state.service';
import { JobLostWatcher } from './job-lost.watcher';
import { NodeLeases } from './node-leases.service';

const ME = 'node-b';
const LEASE_S = 6;
const GRACE_S = 2;

/*
 * Which agents a node judges (docs/architecture.md, "Several nodes"): the
 * watcher of node B on a real SQLite log where other nodes recorded
 * connections and leases. Nothing is injected but the log's contents.
 */
describe('job-lost watcher across nodes (real SQLite log)', () => {
  let dir: string;
  let store: EventStore;
  let fleet: FleetStateService;
  let leases: NodeLeases;
  let watcher: JobLostWatcher;

  const config = (): AppConfig =>
    AppConfig.fromEnv({
      RF_DATA_DIR: dir,
      RF_NODE_ID: ME,
      RF_NODE_LEASE_S: String(LEASE_S),
      RF_JOB_LOST_GRACE_S: String(GRACE_S),
    });

  const append = async (stream: string, event: FleetEvent): Promise<void> => {
    const meta = {
      actor: { kind: 'system' as const, id: 'test' },
      correlation_id: 'test',
      causation_id: 'test',
      received_at: new Date().toISOString(),
    };
    await store.append(stream, [toEventData(event, meta)]);
  };

  /** A host enrolled and connected through `nodeId`, running a job; returns the job id. */
  const connectedThrough = async (hostId: string, nodeId: string | undefined): Promise<string> => {
    const now = new Date().toISOString();
    await append(hostStream(hostId), {
      type: 'AgentConnected',
      data: {
        host_id: hostId,
        protocol_version: 1,
        agent_version: '1.0.0',
        restic_version: '0.17.0',
        hostname: hostId,
        os: 'linux',
        arch: 'amd64',
        connected_at: now,
        ...(nodeId !== undefined ? { node_id: nodeId } : {}),
      },
    });
    const jobId = randomUUID();
    await append(jobStream(jobId), {
      type: 'JobRequested',
      data: { job_id: jobId, host_id: hostId, kind: 'check', args: {}, requested_at: now },
    });
    await append(jobStream(jobId), {
      type: 'JobDispatched',
      data: { job_id: jobId, host_id: hostId, dispatched_at: now },
    });
    await append(jobStream(jobId), {
      type: 'JobStarted',
      data: { job_id: jobId, kind: 'check', started_at: now },
    });
    return jobId;
  };

  const lease = (nodeId: string, expiresAt: number) =>
    store.setStreamMetadata(nodeStream(nodeId), {
      custom: {
        lease: {
          node_id: nodeId,
          renewed_at: new Date().toISOString(),
          expires_at: new Date(expiresAt).toISOString(),
        },
      },
    });

  const start = async (): Promise<void> => {
    const cfg = config();
    fleet = new FleetStateService(store, cfg);
    await fleet.onModuleInit();
    leases = new NodeLeases(store, cfg);
    await leases.onModuleInit();
    const writer = new FleetEventWriter(store, fleet, new WritePositions());
    watcher = new JobLostWatcher(fleet, writer, new AgentSessions(), cfg, leases);
    await watcher.onApplicationBootstrap();
  };

  const read = async (stream: string): Promise<RecordedEvent[]> => {
    const out: RecordedEvent[] = [];
    for await (const e of store.readStream(stream)) out.push(e);
    return out;
  };

  beforeEach(() => {
    Logger.overrideLogger(false);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-lost-nodes-'));
    store = createSqliteEventStore({ path: path.join(dir, 'events.db') });
  });
  afterEach(async () => {
    watcher?.onModuleDestroy();
    leases?.onModuleDestroy();
    fleet?.onModuleDestroy();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  after(() => Logger.overrideLogger(['error', 'warn', 'log']));

  it("at boot: its own and pre-node agents are disconnected, a live node's are left, a lapsed node's are dated at its lease", async () => {
    const lapsedAt = Date.now() - 60_000;
    await lease('node-a', Date.now() + 60_000);
    await lease('node-c', lapsedAt);
    await connectedThrough('own', ME);
    await connectedThrough('legacy', undefined);
    await connectedThrough('live', 'node-a');
    await connectedThrough('lapsed', 'node-c');
    await start();

    const last = async (hostId: string) => (await read(hostStream(hostId))).at(-1)!;
    assert.equal((await last('live')).type, 'AgentConnected', 'a live node keeps its agents');
    for (const hostId of ['own', 'legacy']) {
      const e = await last(hostId);
      assert.equal(e.type, 'AgentDisconnected');
      assert.equal((e.data as { reason: string }).reason, 'server_shutdown');
      assert.equal((e.data as { node_id: string }).node_id, ME);
    }
    const lapsed = await last('lapsed');
    assert.equal(lapsed.type, 'AgentDisconnected');
    assert.equal((lapsed.data as { reason: string }).reason, 'node_lost');
    assert.equal(Date.parse((lapsed.data as { disconnected_at: string }).disconnected_at), lapsedAt);
    // This node holds a lease of its own, renewed ahead.
    const mine = (await store.getStreamMetadata(nodeStream(ME))).custom?.['lease'] as { expires_at: string };
    assert.ok(Date.parse(mine.expires_at) > Date.now() + (LEASE_S - 1) * 1000);
  });

  it("a running job of a live node's agent is never lost; once the lease lapses, it is after the grace", async () => {
    const expires = Date.now() + 60_000;
    await lease('node-a', expires);
    const jobId = await connectedThrough('moving', 'node-a');
    await start();
    // Well past the grace, the lease still live: nothing is judged.
    assert.equal(await watcher.sweep(Date.now() + 30_000), 0);
    assert.equal((await read(hostStream('moving'))).at(-1)!.type, 'AgentConnected');
    // The lease lapses (node A stops renewing): the next sweep records the disconnect at the expiry …
    await lease('node-a', Date.now() - 1000);
    assert.equal(await watcher.sweep(), 0, 'not lost yet: the grace runs from the lease expiry');
    const gone = (await read(hostStream('moving'))).at(-1)!;
    assert.equal(gone.type, 'AgentDisconnected');
    assert.equal((gone.data as { reason: string }).reason, 'node_lost');
    // … and the job is lost once the grace has passed since.
    assert.equal(await watcher.sweep(Date.now() + (GRACE_S + 1) * 1000), 1);
    assert.deepEqual(
      (await read(jobStream(jobId))).map((e) => e.type),
      ['JobRequested', 'JobDispatched', 'JobStarted', 'JobLost'],
    );
  });
});
