// Event store benchmark: raw better-sqlite3 insert limit vs the SQLite adapter's
// group-commit appends, then readAll and subscription catch-up over the whole log.
//   npm run bench:events [-- --json] [-- --events N]     (RF_BENCH_EVENTS=N works too)
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteEventStore, type EventData, type EventStore } from '@rf/events';

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

// A ~200-byte JSON log line, as LogStreamLine carries it, plus the usual audit metadata.
const LINE_TEXT =
  'backup: processed 1234 files, 567 MiB in 0:42; added to the repository: 12.3 MiB (4.5 MiB stored)';
let seq = 0;
function logLine(): EventData {
  seq++;
  return {
    id: randomUUID(),
    type: 'LogStreamLine',
    data: { seq, ts: '2026-11-22T14:50:00.000Z', stream: 'stdout', payload: `${LINE_TEXT} #${seq}` },
    metadata: {
      actor: { kind: 'agent', id: 'host-1' },
      correlation_id: '6f1c6c53-5d3e-4d2e-9d51-2b1f0d3c8e11',
    },
  };
}

/** (a) The limit: the same rows inserted straight into an equivalent table, large transactions, same durability. */
function rawInsertRate(rows: number): number {
  const db = new Database(path.join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec(`
    CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, revision INTEGER NOT NULL,
      created INTEGER NOT NULL, system INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
    CREATE UNIQUE INDEX events_stream_revision ON events (stream, revision);`);
  const insert = db.prepare(
    'INSERT INTO events (stream, revision, created, system, body) VALUES (?, ?, ?, 0, ?)',
  );
  // The same row content the adapter stores: one JSON array with id, type, data and metadata.
  const prepared = Array.from({ length: rows }, (_, i) => {
    const e = logLine();
    const body = JSON.stringify([e.id, e.type, e.data, e.metadata]);
    return [`joblog-${i % 64}`, Math.floor(i / 64), body] as const;
  });
  const batch = db.transaction((from: number, to: number) => {
    const now = Date.now();
    for (let i = from; i < to; i++) {
      const r = prepared[i]!;
      insert.run(r[0], r[1], now, r[2]);
    }
  });
  const started = process.hrtime.bigint();
  for (let i = 0; i < rows; i += 10_000) batch(i, Math.min(rows, i + 10_000));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return rows / seconds;
}

/** (b) N concurrent appenders, each appending `perAppend` events per call to its own stream, for a fixed time. */
async function appendRate(
  store: EventStore,
  appenders: number,
  perAppend: number,
  seconds: number,
  maxEvents: number,
): Promise<{ rate: number; events: number }> {
  let events = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: appenders }, async (_, a) => {
      const stream = `joblog-${randomUUID()}-${a}`;
      while (Date.now() < deadline && events < maxEvents) {
        const batch = Array.from({ length: perAppend }, logLine);
        await store.append(stream, batch);
        events += perAppend;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return { rate: events / elapsed, events };
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`events bench: ${totalEvents} events, synchronous=${synchronous}, ${os.cpus().length} cores`);
  const rawRows = Math.min(totalEvents, 200_000);
  const raw = rawInsertRate(rawRows);
  log(`(a) raw better-sqlite3 insert, 10k-row transactions: ${fmt(raw)} rows/s (${rawRows} rows)`);

  const store = createSqliteEventStore({ path: path.join(dir, 'events.db'), synchronous });
  let written = 0;
  const table: { appenders: number; perAppend: number; rate: number; events: number }[] = [];
  for (const perAppend of [1, 20]) {
    for (const appenders of [1, 8, 64]) {
      const r = await appendRate(store, appenders, perAppend, CONFIG_SECONDS, totalEvents - written);
      written += r.events;
      table.push({ appenders, perAppend, ...r });
    }
  }
  log('(b) adapter appends (expected revision any, ~200-byte JSON lines):');
  log('    appenders  events/append     events/s      events');
  for (const row of table) {
    log(
      `    ${String(row.appenders).padStart(9)}  ${String(row.perAppend).padStart(13)}  ${fmt(row.rate).padStart(11)}  ${String(row.events).padStart(10)}`,
    );
  }
  const best20 = Math.max(...table.filter((r) => r.perAppend === 20).map((r) => r.rate));

  // Fill the log up to the target size for the read benchmarks.
  while (written < totalEvents) {
    const r = await appendRate(store, 64, 20, 3600, totalEvents - written);
    written += r.events;
  }
  const head = await store.headPosition();
  log(`    log filled to ${written} events (head position ${head?.commit ?? 'none'})`);

  let count = 0;
  let t0 = process.hrtime.bigint();
  for await (const event of store.readAll()) if (event.revision >= 0) count++;
  const readAllRate = count / (Number(process.hrtime.bigint() - t0) / 1e9);
  log(`(c) readAll scan: ${fmt(readAllRate)} events/s over ${count} events`);

  t0 = process.hrtime.bigint();
  const caught = await new Promise<number>((resolve, reject) => {
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
  });
  const catchupRate = caught / (Number(process.hrtime.bigint() - t0) / 1e9);
  log(`    subscription catch-up: ${fmt(catchupRate)} events/s over ${caught} events`);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });

  const result = {
    events: totalEvents,
    synchronous,
    raw_rows_per_s: Math.round(raw),
    append_events_per_s: Math.round(best20),
    append_ratio: Number((best20 / raw).toFixed(3)),
    appends: table.map((r) => ({
      appenders: r.appenders,
      events_per_append: r.perAppend,
      events_per_s: Math.round(r.rate),
    })),
    readall_events_per_s: Math.round(readAllRate),
    catchup_events_per_s: Math.round(catchupRate),
    seconds: Math.round((Date.now() - started) / 1000),
  };
  log(
    `append_ratio ${result.append_ratio} (target >= 0.5); catch-up ${fmt(catchupRate)}/s, readAll ${fmt(readAllRate)}/s (target >= 200,000/s); ${result.seconds} s`,
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
