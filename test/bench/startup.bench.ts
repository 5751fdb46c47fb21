// Start-up time of `restic-fleet serve` (spawn → /readyz ready) with an empty
// data dir and with a long fleet history, plus the first start after an
// upgrade (state snapshots missing). Usage:
//   node dist/test/bench/startup.bench.js [--events N] [--hosts H] [--runs R] [--data DIR] [--json]
// `--data DIR` keeps the filled data dir there (and reuses it when it already holds a log).
//
// The history is bench:fleet's (fleet-history.ts: nightly backups with their log
// lines and progress, weekly forget/prune/check), written through the real
// SQLite store; then a control plane runs once over it until ready and stops
// cleanly, which leaves read models and snapshots as a running installation
// has them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteEventStore } from '@rf/event-store';
import { eventsPerHostDay, writeHistory, type FleetShape } from './fleet-history';
import { freeTcpPort as freePort, median, rawNodeHttp, startServe, stopServe as stop } from './serve-process';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const targetEvents = Number(opt('--events') ?? 2_000_000);
const hosts = Number(opt('--hosts') ?? 40);
const runs = Number(opt('--runs') ?? 5);
const asJson = args.includes('--json');
const keptData = opt('--data');
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const LINES_PER_BACKUP = 200;
const PROGRESS_PER_BACKUP = 12;

/** As many whole days of `hosts` nightly backups as the event target needs. */
const baseShape = {
  hosts,
  enrolled: hosts,
  linesPerBackup: LINES_PER_BACKUP,
  progressPerBackup: PROGRESS_PER_BACKUP,
  longJobLines: LINES_PER_BACKUP,
};
const shape: FleetShape = {
  ...baseShape,
  days: Math.max(1, Math.ceil(targetEvents / (hosts * eventsPerHostDay({ ...baseShape, days: 1 })))),
};

const mb = (file: string): number =>
  fs.existsSync(file) ? Math.round(fs.statSync(file).size / 1e5) / 10 : 0;

function dropSnapshots(dataDir: string): number {
  const db = new Database(path.join(dataDir, 'readmodels.db'));
  try {
    return db.prepare('DELETE FROM state_snapshots').run().changes;
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-startup-'));
  const full = keptData ? path.resolve(keptData) : path.join(root, 'full');
  fs.mkdirSync(full, { recursive: true });
  try {
    const port = await freePort();
    let fillMs = 0;
    let prepareMs = 0;
    if (fs.existsSync(path.join(full, 'events.db'))) {
      say(`reusing the history in ${full}`);
    } else {
      const t0 = Date.now();
      const store = createSqliteEventStore({ path: path.join(full, 'events.db'), synchronous: 'NORMAL' });
      let written: number;
      try {
        written = await writeHistory(store, shape, (n) => say(`  ${n} events written`));
      } finally {
        await store.close();
      }
      fillMs = Date.now() - t0;
      say(`filled ${written} events in ${fillMs} ms`);
      const t1 = Date.now();
      const first = await startServe(full, port, 60 * 60_000);
      await stop(first);
      prepareMs = Date.now() - t1;
      say(`first run over the history (read models and snapshots built) in ${prepareMs} ms`);
    }

    const empty: number[] = [];
    const fullRuns: number[] = [];
    const noSnapshots: number[] = [];
    const raw: number[] = [];
    for (let r = 0; r < runs; r++) {
      const emptyDir = path.join(root, `empty-${r}`);
      fs.mkdirSync(emptyDir);
      const e = await startServe(emptyDir, port, 120_000);
      empty.push(e.readyMs);
      await stop(e);
      fs.rmSync(emptyDir, { recursive: true, force: true });

      const f = await startServe(full, port, 120_000);
      fullRuns.push(f.readyMs);
      await stop(f);

      if (dropSnapshots(full) === 0) throw new Error('no state snapshots were stored by the clean shutdown');
      const n = await startServe(full, port, 30 * 60_000);
      noSnapshots.push(n.readyMs);
      await stop(n);

      raw.push(await rawNodeHttp(port));
      say(
        `run ${r + 1}/${runs}: empty ${Math.round(e.readyMs)} ms, full ${Math.round(f.readyMs)} ms, no snapshots ${Math.round(n.readyMs)} ms`,
      );
    }
    const events = await countEvents(full);
    const result = {
      events,
      startup_ms_empty: median(empty),
      startup_ms_full: median(fullRuns),
      startup_ms_full_without_snapshots: median(noSnapshots),
      raw_node_http_ms: median(raw),
      target_full_ms: 2 * median(empty) + 1000,
      runs,
      hosts,
      fill_ms: fillMs,
      first_run_ms: prepareMs,
      events_db_mb: mb(path.join(full, 'events.db')),
      readmodels_db_mb: mb(path.join(full, 'readmodels.db')),
      load_average: Math.round(os.loadavg()[0]! * 10) / 10,
    };
    say('');
    say('control-plane start-up: spawn → /readyz 200 (median of runs)');
    say(`  events in the log                 ${result.events}`);
    say(`  empty data dir                    ${result.startup_ms_empty} ms`);
    say(
      `  full history                      ${result.startup_ms_full} ms   (target ≤ ${result.target_full_ms} ms)`,
    );
    say(
      `  full history, snapshots missing   ${result.startup_ms_full_without_snapshots} ms   (first start after an upgrade)`,
    );
    say(`  raw limit: bare node HTTP server  ${result.raw_node_http_ms} ms`);
    say(`  events.db / readmodels.db         ${result.events_db_mb} MB / ${result.readmodels_db_mb} MB`);
    say(`  load average (1 min)              ${result.load_average} on ${os.cpus().length} CPUs`);
    if (asJson) say(JSON.stringify(result));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Events in `$all` (system records excluded), counted from the file itself. */
async function countEvents(dataDir: string): Promise<number> {
  const db = new Database(path.join(dataDir, 'events.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT SUM(count) AS n FROM events WHERE system = 0').get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
