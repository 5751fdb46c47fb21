import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import {
  AGENT_TO_SERVER,
  jobLogStream,
  parseEnvelope,
  toEventData,
  type EventData,
  type RecordedEvent,
  type WireMessage,
} from '@rf/events';
import { createSqliteEventStore, EventStoreError, type EventStore } from '@rf/event-store';
import { MetricsRegistry } from '../core/metrics.registry';
import { AppConfig } from '../core/app-config';
import { AgentMessagesService, type IngestOutcome } from './agent-messages.service';
import { FleetStateService } from '../services/fleet-state.service';
import type { ScheduleCommandsService } from '../services/schedules.service';
import { WritePositions } from '../domain/write-positions';

const HOST = 'host-ingest-1';

/** Envelopes as the gateway hands them over: parsed and validated from the agent's JSON. */
function envelope(type: string, jobId: string, payload: Record<string, unknown>): WireMessage {
  const ts = new Date().toISOString();
  const parsed = parseEnvelope(
    JSON.stringify({
      v: 1,
      id: randomUUID(),
      type,
      ts,
      job_id: jobId,
      payload: { job_id: jobId, ...payload },
    }),
    { accept: AGENT_TO_SERVER },
  );
  if (!parsed.ok) throw new Error(`bad test envelope: ${parsed.error.message}`);
  return parsed.message;
}
const line = (jobId: string, seq: number, text = `line ${seq}`) =>
  envelope('log.stream', jobId, { seq, ts: new Date().toISOString(), stream: 'stdout', payload: text });
const progress = (jobId: string, done: number) =>
  envelope('job.progress', jobId, {
    percent_done: done / 10,
    files_done: done,
    total_files: 10,
    bytes_done: done,
    total_bytes: 10,
    throughput_bps: 1,
  });
const dropped = (jobId: string, from: number, to: number) =>
  envelope('log.dropped', jobId, { from_seq: from, to_seq: to, count: to - from + 1 });

interface AppendCall {
  readonly stream: string;
  readonly events: number;
}

/**
 * The real store, with every append recorded; while `failing` names a stream,
 * appends to it fail as a failed SQLite transaction does; `gate` holds appends.
 */
class ObservedStore {
  readonly calls: AppendCall[] = [];
  failing: string | undefined;
  /** Fails only the next append to this stream. */
  failOnce: string | undefined;
  gate: Promise<void> | undefined;
  readonly store: EventStore;

  constructor(real: EventStore) {
    this.store = new Proxy(real, {
      get: (target, prop) => {
        if (prop === 'append') return this.append(target);
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private append(real: EventStore): EventStore['append'] {
    return async (stream, events, options) => {
      if (this.gate) await this.gate;
      this.calls.push({ stream, events: events.length });
      const once = this.failOnce === stream;
      if (once) this.failOnce = undefined;
      if (this.failing === stream || once) {
        throw new EventStoreError('Unavailable', 'event log write failed: SQLITE_IOERR (injected)');
      }
      return real.append(stream, events, options);
    };
  }

  callsTo(stream: string): number[] {
    return this.calls.filter((c) => c.stream === stream).map((c) => c.events);
  }
}

async function readAll(store: EventStore, stream: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(e);
  return out;
}
const envelopeIds = (events: readonly RecordedEvent[]) =>
  events.map((e) => (e.metadata as { envelope_id?: string }).envelope_id);
const ids = (messages: readonly WireMessage[]) => messages.map((m) => m.id);
const acked = (outcomes: readonly IngestOutcome[]) => outcomes.filter((o) => o.ok).map((o) => o.id);

describe('AgentMessagesService telemetry ingest (real SQLite event store)', () => {
  let dir: string;
  let real: EventStore;
  let observed: ObservedStore;
  let fleet: FleetStateService;
  let metrics: MetricsRegistry;
  let service: AgentMessagesService;
  const jobA = randomUUID();
  const jobB = randomUUID();

  const newService = (store: EventStore) =>
    new AgentMessagesService(
      store,
      fleet,
      {} as ScheduleCommandsService, // telemetry never fires schedules
      AppConfig.fromEnv({ RF_DATA_DIR: dir }),
      new WritePositions(),
      metrics,
    );
  const appendedTotal = () => Number(/^rf_events_appended_total (\d+)$/m.exec(metrics.render())?.[1] ?? 0);

  const start = async () => {
    real = createSqliteEventStore({ path: path.join(dir, 'events.db') });
    observed = new ObservedStore(real);
    fleet = new FleetStateService(real, AppConfig.fromEnv({ RF_DATA_DIR: dir }));
    await fleet.onModuleInit();
    service = newService(observed.store);
  };
  const restart = async () => {
    fleet.onModuleDestroy();
    await real.close();
    await start();
  };

  before(async () => {
    // The injected failures are logged as errors on purpose; keep the test output readable.
    Logger.overrideLogger(false);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-ingest-'));
    metrics = new MetricsRegistry();
    await start();
    for (const jobId of [jobA, jobB]) {
      const requested: EventData = toEventData(
        {
          type: 'JobRequested',
          data: {
            job_id: jobId,
            host_id: HOST,
            kind: 'backup',
            args: { paths: ['/srv'] },
            requested_at: new Date().toISOString(),
          },
        },
        {
          actor: { kind: 'user', id: 'u1' },
          correlation_id: jobId,
          causation_id: jobId,
          received_at: new Date().toISOString(),
        },
        randomUUID(),
      );
      const result = await real.append(`job-${jobId}`, [requested]);
      await fleet.waitFor(result.position);
    }
  });

  after(async () => {
    fleet.onModuleDestroy();
    await real.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Shared by the tests below, which run in order: they build on each other's streams.
  const batchA = [
    line(jobA, 1),
    line(jobA, 2),
    progress(jobA, 1),
    line(jobA, 3),
    dropped(jobA, 4, 5),
    line(jobA, 6),
    line(jobA, 7),
  ];
  const batchB = [line(jobB, 1), line(jobB, 2), line(jobB, 3), progress(jobB, 2)];
  // The two agents' envelopes interleaved in one batch, as one tick of the gateway may see them.
  const firstBatch = batchA.flatMap((m, i) => [m, ...(batchB[i] ? [batchB[i]!] : [])]);

  it('appends lines, progress and a drop marker of two jobs in arrival order, lines together', async () => {
    const before = appendedTotal();
    const outcomes = await service.ingest(HOST, firstBatch, new Date().toISOString());
    assert.deepEqual(acked(outcomes), ids(firstBatch), 'every envelope is acked');
    const a = await readAll(real, jobLogStream(jobA));
    const b = await readAll(real, jobLogStream(jobB));
    assert.deepEqual(envelopeIds(a), ids(batchA));
    assert.deepEqual(envelopeIds(b), ids(batchB));
    assert.deepEqual(
      a.map((e) => e.type),
      [
        'LogStreamLine',
        'LogStreamLine',
        'JobProgress',
        'LogStreamLine',
        'LogLinesDropped',
        'LogStreamLine',
        'LogStreamLine',
      ],
    );
    // Runs of lines share an append; progress and drop markers are appended alone.
    assert.deepEqual(observed.callsTo(jobLogStream(jobA)), [2, 1, 1, 1, 2]);
    assert.deepEqual(observed.callsTo(jobLogStream(jobB)), [3, 1]);
    assert.equal(appendedTotal() - before, 11, 'rf_events_appended_total counts events');
  });

  it('stores nothing twice when the same batch, then an overlapping one, is resent', async () => {
    const aBefore = await readAll(real, jobLogStream(jobA));
    const bBefore = await readAll(real, jobLogStream(jobB));
    const again = await service.ingest(HOST, firstBatch, new Date().toISOString());
    assert.deepEqual(acked(again), ids(firstBatch), 'a resend is acked');
    assert.deepEqual(envelopeIds(await readAll(real, jobLogStream(jobA))), envelopeIds(aBefore));
    assert.deepEqual(envelopeIds(await readAll(real, jobLogStream(jobB))), envelopeIds(bBefore));

    // The agent's outbox after a reconnect: the unacked tail of the old batch, then new envelopes.
    const newA = [line(jobA, 8), progress(jobA, 3), line(jobA, 9), dropped(jobA, 10, 11), line(jobA, 12)];
    const newB = [line(jobB, 4), line(jobB, 5)];
    const overlapping = [...batchA.slice(2), ...newA, ...batchB.slice(1), ...newB];
    const outcomes = await service.ingest(HOST, overlapping, new Date().toISOString());
    assert.deepEqual(acked(outcomes), ids(overlapping));
    assert.deepEqual(envelopeIds(await readAll(real, jobLogStream(jobA))), [...ids(batchA), ...ids(newA)]);
    assert.deepEqual(envelopeIds(await readAll(real, jobLogStream(jobB))), [...ids(batchB), ...ids(newB)]);

    // After a control-plane restart: a fresh store and service know only what the log holds.
    await restart();
    const afterRestart = await service.ingest(
      HOST,
      [...firstBatch, ...overlapping],
      new Date().toISOString(),
    );
    assert.ok(afterRestart.every((o) => o.ok));
    assert.deepEqual(envelopeIds(await readAll(real, jobLogStream(jobA))), [...ids(batchA), ...ids(newA)]);
    assert.deepEqual(envelopeIds(await readAll(real, jobLogStream(jobB))), [...ids(batchB), ...ids(newB)]);
  });

  it('acks nothing of a chunk whose append failed, and stores it once when resent', async () => {
    const streamA = jobLogStream(jobA);
    const stored = envelopeIds(await readAll(real, streamA));
    const newA = [line(jobA, 13), line(jobA, 14), progress(jobA, 4), line(jobA, 15), line(jobA, 16)];
    const newB = [line(jobB, 6), line(jobB, 7)];
    observed.failing = streamA;
    const outcomes = await service.ingest(HOST, [...newA, ...newB], new Date().toISOString());
    observed.failing = undefined;
    assert.deepEqual(acked(outcomes), ids(newB), 'only the other job is acked');
    for (const o of outcomes.slice(0, newA.length)) {
      assert.equal(o.ok, false);
      assert.equal(!o.ok && o.retry, true, 'a transient failure: the agent resends, no error');
    }
    assert.deepEqual(envelopeIds(await readAll(real, streamA)), stored);

    for (let i = 0; i < 2; i++) {
      const resent = await service.ingest(HOST, newA, new Date().toISOString());
      assert.deepEqual(acked(resent), ids(newA));
    }
    assert.deepEqual(envelopeIds(await readAll(real, streamA)), [...stored, ...ids(newA)]);
  });

  it('acks a resend that overtakes its in-flight original only when that append is durable', async () => {
    const streamA = jobLogStream(jobA);
    const stored = envelopeIds(await readAll(real, streamA));
    const batch = [line(jobA, 17), line(jobA, 18)];
    let release!: () => void;
    observed.gate = new Promise((r) => (release = r));
    observed.failing = streamA;
    // The old connection's batch is still being appended when the new connection resends it.
    const original = service.ingest(HOST, batch, new Date().toISOString());
    await new Promise((r) => setImmediate(r));
    let resendSettled = false;
    const resend = service
      .ingest(HOST, batch, new Date().toISOString())
      .finally(() => (resendSettled = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(resendSettled, false, 'the resend waits for the original append');
    observed.gate = undefined;
    release();
    assert.deepEqual(acked(await original), []);
    assert.deepEqual(acked(await resend), [], 'the original failed, so the resend is not acked either');
    observed.failing = undefined;
    assert.deepEqual(acked(await service.ingest(HOST, batch, new Date().toISOString())), ids(batch));
    assert.deepEqual(envelopeIds(await readAll(real, streamA)), [...stored, ...ids(batch)]);
  });

  it('never stores a later batch of a job after an earlier one failed, so the resend fills no hole', async () => {
    const streamA = jobLogStream(jobA);
    const stored = envelopeIds(await readAll(real, streamA));
    const first = [line(jobA, 19), line(jobA, 20)];
    const second = [line(jobA, 21), progress(jobA, 5), line(jobA, 22)];
    let release!: () => void;
    observed.gate = new Promise((r) => (release = r));
    observed.failOnce = streamA;
    // Two socket batches of one job in flight at once; only the first append fails.
    const one = service.ingest(HOST, first, new Date().toISOString());
    await new Promise((r) => setImmediate(r));
    const two = service.ingest(HOST, second, new Date().toISOString());
    await new Promise((r) => setTimeout(r, 20));
    observed.gate = undefined;
    release();
    assert.deepEqual(acked(await one), []);
    const secondOutcomes = await two;
    assert.deepEqual(acked(secondOutcomes), [], 'the later batch is not stored either');
    assert.ok(
      secondOutcomes.every((o) => !o.ok && o.retry),
      'it is retried, not refused',
    );
    assert.deepEqual(envelopeIds(await readAll(real, streamA)), stored, 'nothing of either batch was stored');
    // The agent resends its outbox in order: every line lands once, in seq order.
    const resent = await service.ingest(HOST, [...first, ...second], new Date().toISOString());
    assert.deepEqual(acked(resent), ids([...first, ...second]));
    assert.deepEqual(envelopeIds(await readAll(real, streamA)), [...stored, ...ids(first), ...ids(second)]);
  });

  it("splits a job's lines into appends under the store's size cap and 500 events", async () => {
    const streamA = jobLogStream(jobA);
    const streamB = jobLogStream(jobB);
    const storedA = envelopeIds(await readAll(real, streamA));
    const storedB = envelopeIds(await readAll(real, streamB));
    // Control characters are stored escaped (6 bytes each): 10 such lines are ~3.6 MB.
    const bulky = Array.from({ length: 10 }, (_, i) => line(jobA, 100 + i, '\u0001'.repeat(60_000)));
    const many = Array.from({ length: 1_100 }, (_, i) => line(jobB, 100 + i));
    observed.calls.length = 0;
    const outcomes = await service.ingest(HOST, [...bulky, ...many], new Date().toISOString());
    assert.deepEqual(acked(outcomes), [...ids(bulky), ...ids(many)], 'no append hit the store cap');
    const aCalls = observed.callsTo(streamA);
    const bCalls = observed.callsTo(streamB);
    assert.ok(aCalls.length >= 4 && aCalls.length <= 10, `bulky lines in ${aCalls.join(',')}`);
    assert.ok(bCalls.every((n) => n <= 500) && bCalls.length < 10, `small lines in ${bCalls.join(',')}`);
    assert.deepEqual(envelopeIds(await readAll(real, streamA)), [...storedA, ...ids(bulky)]);
    assert.deepEqual(envelopeIds(await readAll(real, streamB)), [...storedB, ...ids(many)]);
  });

  it('stores no later run of lines of a batch when an earlier run failed (stores whose appends fail apart)', async () => {
    const streamB = jobLogStream(jobB);
    const storedB = envelopeIds(await readAll(real, streamB));
    const lastSeq = (await readAll(real, streamB))
      .filter((e) => e.type === 'LogStreamLine')
      .reduce((m, e) => Math.max(m, (e.data as { seq: number }).seq), 0);
    // Several runs of lines (under 500 events and 1 MiB each) in one batch; only the first append fails.
    const many = Array.from({ length: 1_100 }, (_, i) => line(jobB, lastSeq + 1 + i));
    observed.calls.length = 0;
    observed.failOnce = streamB;
    const outcomes = await service.ingest(HOST, many, new Date().toISOString());
    assert.deepEqual(acked(outcomes), [], 'nothing of the batch is acked');
    assert.ok(outcomes.every((o) => !o.ok && o.retry));
    assert.equal(observed.callsTo(streamB).length, 1, 'only the first run was tried; the later ones never');
    assert.deepEqual(envelopeIds(await readAll(real, streamB)), storedB);
    const resent = await service.ingest(HOST, many, new Date().toISOString());
    assert.deepEqual(acked(resent), ids(many));
    assert.deepEqual(envelopeIds(await readAll(real, streamB)), [...storedB, ...ids(many)]);
  });
});
