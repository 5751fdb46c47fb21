/*
 * Throughput of the wire → event path on one core, for log.stream (the bulk
 * of agent traffic). Run after a build:
 *   node dist/test/bench/envelope.bench.js [--json] [--seconds N]
 * Prints a table; with --json, one JSON object on the last line.
 * The control plane must ingest ≥ 20,000 envelopes/s including the append.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  checkClass,
  encodeEnvelope,
  eventDataForMessage,
  eventForMessage,
  eventIdFromEnvelope,
  fromRecorded,
  LogStreamLineData,
  makeEnvelope,
  metadataForMessage,
  parseEnvelope,
  toEventData,
  type EventData,
  type RecordedEvent,
} from '@rf/events';
import { createSqliteEventStore } from '@rf/event-store';

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 1.5;

const JOB = '0f8fad5b-d9cb-469f-a165-70867728950e';
const HOST = 'bench-host';
const N = 2000;
const ts = new Date().toISOString();
const texts = Array.from({ length: N }, (_, i) =>
  encodeEnvelope(
    makeEnvelope('log.stream', {
      job_id: JOB,
      seq: i,
      ts,
      stream: i % 7 === 0 ? 'stderr' : 'event',
      payload: `{"message_type":"verbose_status","action":"new","item":"/srv/data/dir${i % 50}/file-${i}.bin","duration":0.0123,"data_size":${1000 + i}}`,
    }),
  ),
);
const buffers = texts.map((t) => Buffer.from(t));
const payloads = texts.map((t) => (JSON.parse(t) as { payload: Record<string, unknown> }).payload);

/** CPU seconds used by this process (user + system): rates stay comparable on a busy machine. */
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Runs `fn(i)` for about `seconds` of CPU time, returns calls per CPU second. */
function rate(fn: (i: number) => void): number {
  for (let i = 0; i < 20_000; i++) fn(i % N);
  let calls = 0;
  const start = cpuSeconds();
  let elapsed = 0;
  while (elapsed < seconds) {
    for (let i = 0; i < 1000; i++) fn(i % N);
    calls += 1000;
    elapsed = cpuSeconds() - start;
  }
  return Math.round(calls / elapsed);
}

function must(ok: boolean): void {
  if (!ok) throw new Error('bench input did not validate');
}

/** What the control plane does per envelope: parse, map, id, metadata. */
function ingest(i: number): EventData {
  const r = parseEnvelope(buffers[i]);
  if (!r.ok) throw new Error(r.error.message);
  const mapped = eventDataForMessage(HOST, r.message, ts);
  if (!mapped) throw new Error('not durable');
  return mapped.eventData;
}

/** The same, re-validating the event with toEventData. */
function ingestValidated(i: number): EventData {
  const r = parseEnvelope(buffers[i]);
  if (!r.ok) throw new Error(r.error.message);
  const mapped = eventForMessage(HOST, r.message);
  if (!mapped) throw new Error('not durable');
  return toEventData(
    mapped.event,
    metadataForMessage(HOST, r.message, ts),
    eventIdFromEnvelope(r.message.id, 0),
  );
}

/** Per wall-clock second and per CPU second: the append waits on fsync, which costs time but no CPU. */
async function ingestWithAppend(): Promise<{ wall: number; cpu: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-'));
  const store = createSqliteEventStore({ path: path.join(dir, 'events.db') });
  try {
    const batch = 100;
    let done = 0;
    const cpuStart = cpuSeconds();
    const start = process.hrtime.bigint();
    const budget = BigInt(Math.round(seconds * 1e9));
    let round = 0;
    while (process.hrtime.bigint() - start < budget) {
      const events: EventData[] = [];
      for (let i = 0; i < batch; i++)
        events.push({ ...ingest((round * batch + i) % N), id: randomId(round, i) });
      await store.append(`joblog-bench-${round % 20}`, events);
      done += batch;
      round++;
    }
    return {
      wall: Math.round(done / (Number(process.hrtime.bigint() - start) / 1e9)),
      cpu: Math.round(done / (cpuSeconds() - cpuStart)),
    };
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Distinct ids per round (the sample envelopes repeat, and repeated ids would be deduplicated). */
function randomId(round: number, i: number): string {
  return eventIdFromEnvelope(`bench-${round}`, i);
}

async function main(): Promise<void> {
  const recorded: RecordedEvent[] = texts.map((_, i) => {
    const ed = ingest(i);
    return {
      id: ed.id,
      type: ed.type,
      streamId: `joblog-${JOB}`,
      revision: i,
      position: { commit: BigInt(i), prepare: BigInt(i) },
      data: ed.data,
      metadata: ed.metadata,
      created: new Date(),
    };
  });
  const appended = await ingestWithAppend();
  const results: Record<string, number> = {
    'JSON.parse only (baseline)': rate((i) => JSON.parse(texts[i])),
    'parseEnvelope log.stream (string)': rate((i) => must(parseEnvelope(texts[i]).ok)),
    'parseEnvelope log.stream (Buffer)': rate((i) => must(parseEnvelope(buffers[i]).ok)),
    'LogStreamLine payload, fast path': rate((i) =>
      must(checkClass(LogStreamLineData, payloads[i], 'payload', { unknown: 'strip' }).ok),
    ),
    'LogStreamLine payload, class-validator': rate((i) =>
      must(checkClass(LogStreamLineData, payloads[i], 'payload', { unknown: 'strip', slow: true }).ok),
    ),
    'parse + eventDataForMessage (ingest path)': rate((i) => ingest(i)),
    'parse + eventForMessage + toEventData': rate((i) => ingestValidated(i)),
    'fromRecorded (projection read path)': rate((i) => fromRecorded(recorded[i])),
    'ingest + SQLite append, per CPU second': appended.cpu,
    'ingest + SQLite append, per wall second': appended.wall,
  };
  const width = Math.max(...Object.keys(results).map((k) => k.length));
  console.log(
    `${'measure (log.stream)'.padEnd(width)}  per CPU second   (node ${process.version}, load ${os.loadavg()[0].toFixed(1)})`,
  );
  for (const [k, v] of Object.entries(results))
    console.log(`${k.padEnd(width)}  ${v.toLocaleString('en-US').padStart(10)}`);
  if (asJson) console.log(JSON.stringify({ bench: 'wire-envelope', loadavg: os.loadavg()[0], results }));
}

void main();
