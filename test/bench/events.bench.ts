// Event store benchmark: raw better-sqlite3 insert limit vs the SQLite adapter's
// group-commit appends, then readAll and subscription catch-up over the whole log.
//   npm run bench:events [-- --json] [-- --events N]     (RF_BENCH_EVENTS=N works too)
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { type EventData } from '@rf/events';

const args = process.argv.slice(2);
const json = args.includes('--json');
const eventsArg = args.indexOf('--events');
const totalEvents = Number(eventsArg >= 0 ? args[eventsArg + 1] : (process.env.RF_BENCH_EVENTS ?? 1_000_000));
if (!Number.isSafeInteger(totalEvents) || totalEvents < 10_000) {
  throw new Error('--events (or RF_BENCH_EVENTS) must be an integer >= 10000');
}
const synchronous = process.env.RF_BENCH_SYNCHRONOUS === 'NORMAL' ? 'NORMAL' : 'FULL';
const CONFIG_SECONDS = Number(process.env.RF_BENCH_CONFIG_SECONDS ?? 3);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-events-'));
const log = (line: string) => {
  if (!json) console.log(line);
};

// ~200-byte JSON log lines, as LogStreamLine carries them, plus the usual audit metadata. The payloads are
// made before timing (as a caller already holds its events); each append still gets fresh ids and is
// serialised by the store.
const LINE_TEXT =
  'backup: processed 1234 files, 567 MiB in 0:42; added to the repository: 12.3 MiB (4.5 MiB stored)';
const PAYLOADS = Array.from({ length: 4096 }, (_, i) => ({
  seq: i + 1,
  ts: '2026-11-22T14:50:00.000Z',
  stream: 'stdout',
  payload: `${LINE_TEXT} #${i + 1}`,
}));
const METADATA = {
  actor: { kind: 'agent', id: 'host-1' },
  correlation_id: '6f1c6c53-5d3e-4d2e-9d51-2b1f0d3c8e11',
};
let seq = 0;
function logLine(): EventData {
  seq++;
  return {
    id: randomUUID(),
    type: 'LogStreamLine',
    data: PAYLOADS[seq % PAYLOADS.length],
    metadata: METADATA,
  };
}

interface Timed {
  readonly seconds: number;
  /** CPU time this process used (user + system): a rate per CPU-second is robust to other load on the machine. */
  readonly cpuSeconds: number;
}

async function timed<T>(fn: () => Promise<T> | T): Promise<Timed & { value: T }> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { value, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** (a) The limit: the same rows inserted straight into an equivalent table, large transactions, same durability. */
async function rawInsert(file: string, rows: number): Promise<Timed> {
  const db = new Database(path.join(dir, file));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec(`
    CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, revision INTEGER NOT NULL,
      created INTEGER NOT NULL, system INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
    CREATE UNIQUE INDEX events_stream_revision ON events (stream, revision);`);
  const insert = db.prepare(
    'INSERT INTO events (stream, revision, created, system, body) VALUES (?, ?, ?, 0, ?)',
  );
  // The same row content the adapter stores: one JSON array with the whole record.
  const created = Date.now();
  // Stream names of the same shape as the adapter's (a job id is a UUID).
  const streams = Array.from({ length: 64 }, () => `joblog-${randomUUID()}`);
  const prepared = Array.from({ length: rows }, (_, i) => {
    const e = logLine();
    const stream = streams[i % 64]!;
    const revision = Math.floor(i / 64);
    const body = JSON.stringify([e.id, e.type, e.data, e.metadata, stream, revision, created]);
    return [stream, revision, body] as const;
  });
  const batch = db.transaction((from: number, to: number) => {
    const now = Date.now();
    for (let i = from; i < to; i++) {
      const r = prepared[i]!;
      insert.run(r[0], r[1], now, r[2]);
    }
  });
  const t = await timed(() => {
    for (let i = 0; i < rows; i += 10_000) batch(i, Math.min(rows, i + 10_000));
  });
  db.close();
  return t;
}

/** (b) N concurrent appenders, each appending `perAppend` events per call to its own stream, for a fixed time. */
async function appendFor(
  store: EventStore,
  appenders: number,
  perAppend: number,
  seconds: number,
  maxEvents: number,
): Promise<Timed & { events: number }> {
  let events = 0;
  const deadline = Date.now() + seconds * 1000;
  const t = await timed(() =>
    Promise.all(
      Array.from({ length: appenders }, async () => {
        const stream = `joblog-${randomUUID()}`;
        while (Date.now() < deadline && events < maxEvents) {
          const batch = Array.from({ length: perAppend }, logLine);
          await store.append(stream, batch);
          events += perAppend;
        }
      }),
    ),
  );
  return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, events };
}

async function main(): Promise<void> {
  const started = Date.now();
  log(
    `events bench: ${totalEvents} events, synchronous=${synchronous}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  // Raw is measured before and after the adapter runs; the better of the two is the limit (conservative ratio).
  const rawRows = Math.min(totalEvents, 100_000);
  const rawRuns = [await rawInsert('raw-1.db', rawRows)];

  const store = createSqliteEventStore({ path: path.join(dir, 'events.db'), synchronous });
  let written = 0;
  const table: { appenders: number; perAppend: number; events: number; rate: number; cpuRate: number }[] = [];
  for (const perAppend of [1, 20]) {
    for (const appenders of [1, 8, 64]) {
      const r = await appendFor(store, appenders, perAppend, CONFIG_SECONDS, totalEvents - written);
      written += r.events;
      table.push({
        appenders,
        perAppend,
        events: r.events,
        rate: r.events / r.seconds,
        cpuRate: r.events / r.cpuSeconds,
      });
    }
  }
  rawRuns.push(await rawInsert('raw-2.db', rawRows));
  const raw = Math.max(...rawRuns.map((r) => rawRows / r.seconds));
  const rawCpu = Math.max(...rawRuns.map((r) => rawRows / r.cpuSeconds));
  log(`(a) raw better-sqlite3 insert, 10k-row transactions, ${rawRows} rows (best of ${rawRuns.length}):`);
  log(`    ${fmt(raw)} rows/s  (${fmt(rawCpu)} rows per CPU-second)`);
  log('(b) adapter appends (expected revision any, ~200-byte JSON lines):');
  log('    appenders  events/append     events/s  events/CPU-s      events');
  for (const row of table) {
    log(
      `    ${String(row.appenders).padStart(9)}  ${String(row.perAppend).padStart(13)}  ${fmt(row.rate).padStart(11)}  ${fmt(row.cpuRate).padStart(12)}  ${String(row.events).padStart(10)}`,
    );
  }
  const best20 = table.filter((r) => r.perAppend === 20).reduce((a, b) => (b.rate > a.rate ? b : a));

  // Fill the log up to the target size for the read benchmarks.
  while (written < totalEvents) {
    const r = await appendFor(store, 64, 20, 3600, totalEvents - written);
    written += r.events;
  }
  log(`    log filled to ${written} events`);

  let count = 0;
  const scan = await timed(async () => {
    for await (const event of store.readAll()) if (event.revision >= 0) count++;
  });
  log(
    `(c) readAll scan: ${fmt(count / scan.seconds)} events/s (${fmt(count / scan.cpuSeconds)} per CPU-second) over ${count} events`,
  );

  const catchup = await timed(
    () =>
      new Promise<number>((resolve, reject) => {
        let n = 0;
        const sub = store.subscribeToAll().subscribe({
          next: (item) => {
            if (item.kind === 'event') n++;
            else {
              sub.unsubscribe();
              resolve(n);
            }
          },
          error: reject,
        });
      }),
  );
  const caught = catchup.value;
  log(
    `    subscription catch-up: ${fmt(caught / catchup.seconds)} events/s (${fmt(caught / catchup.cpuSeconds)} per CPU-second) over ${caught} events`,
  );
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });

  const result = {
    events: totalEvents,
    synchronous,
    load_average: Number(os.loadavg()[0]!.toFixed(2)),
    raw_rows_per_s: Math.round(raw),
    append_events_per_s: Math.round(best20.rate),
    append_ratio: Number((best20.rate / raw).toFixed(3)),
    raw_rows_per_cpu_s: Math.round(rawCpu),
    append_events_per_cpu_s: Math.round(best20.cpuRate),
    append_ratio_cpu: Number((best20.cpuRate / rawCpu).toFixed(3)),
    appends: table.map((r) => ({
      appenders: r.appenders,
      events_per_append: r.perAppend,
      events_per_s: Math.round(r.rate),
      events_per_cpu_s: Math.round(r.cpuRate),
    })),
    readall_events_per_s: Math.round(count / scan.seconds),
    readall_events_per_cpu_s: Math.round(count / scan.cpuSeconds),
    catchup_events_per_s: Math.round(caught / catchup.seconds),
    catchup_events_per_cpu_s: Math.round(caught / catchup.cpuSeconds),
    seconds: Math.round((Date.now() - started) / 1000),
  };
  log(
    `append_ratio ${result.append_ratio} (per CPU-second ${result.append_ratio_cpu}; target >= 0.5); ` +
      `catch-up ${fmt(result.catchup_events_per_s)}/s, readAll ${fmt(result.readall_events_per_s)}/s (target >= 200,000/s); ${result.seconds} s`,
  );
  if (json) console.log(JSON.stringify(result));
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

main().catch((err: unknown) => {
  fs.rmSync(dir, { recursive: true, force: true });
  console.error(err);
  process.exit(1);
});
