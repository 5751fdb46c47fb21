// Catch-up speed of the projection runner and of a full rebuild over a log of
// job log lines (the bulk of any real log), next to the raw limit measured in
// the same run: reading the same log from the store without projecting it.
// Usage:
//   npm run bench:projections -- [--events N] [--json]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createSqliteEventStore } from '@rf/event-store';
import { type EventData } from '@rf/events';
import {
  ALL_PROJECTIONS,
  ProjectionRunner,
  openReadModelsDatabase,
  rebuildReadModels,
} from '@rf/projections';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const total = Number(opt('--events') ?? 1_000_000);
const asJson = args.includes('--json');

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-proj-'));
  const store = createSqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'NORMAL' });
  try {
    const jobs = 100;
    const perJob = Math.ceil(total / jobs);
    const chunk = 2000;
    const t0 = Date.now();
    const T = Date.parse('2026-11-01T00:00:00Z');
    let written = 0;
    for (let j = 0; j < jobs && written < total; j++) {
      const jobId = `bench-${j}`;
      const metadata = {
        actor: { kind: 'agent', id: 'h1' },
        correlation_id: 'c',
        causation_id: 'c',
        received_at: new Date(T).toISOString(),
        schema_version: 2,
      };
      await store.append(`job-${jobId}`, [
        {
          id: randomUUID(),
          type: 'JobRequested',
          data: {
            job_id: jobId,
            host_id: 'h1',
            kind: 'backup',
            args: { paths: ['/srv'] },
            requested_at: new Date(T).toISOString(),
          },
          metadata,
        },
      ]);
      for (let s = 0; s < perJob && written < total; s += chunk) {
        const batch: EventData[] = [];
        for (let k = s; k < Math.min(s + chunk, perJob) && written + batch.length < total; k++) {
          batch.push({
            id: randomUUID(),
            type: 'LogStreamLine',
            data: {
              job_id: jobId,
              seq: k,
              ts: new Date(T + k).toISOString(),
              stream: 'stdout',
              payload: `/srv/data/file-${k}.bin`,
            },
            metadata,
          });
        }
        await store.append(`joblog-${jobId}`, batch);
        written += batch.length;
      }
    }
    const writeMs = Date.now() - t0;
    const head = await store.headPosition();
    if (!head) throw new Error('empty log');

    const db = openReadModelsDatabase(path.join(dir, 'readmodels.db'));
    const runner = new ProjectionRunner(store, db, ALL_PROJECTIONS);
    const t1 = Date.now();
    const cpu1 = process.cpuUsage();
    runner.start();
    await runner.waitForPosition(head, 600_000);
    const runnerMs = Date.now() - t1;
    const runnerCpu = process.cpuUsage(cpu1);
    const runnerCpuMs = (runnerCpu.user + runnerCpu.system) / 1000;
    await runner.stop();

    const t2 = Date.now();
    const cpu2 = process.cpuUsage();
    const rebuilt = await rebuildReadModels(store, db, ALL_PROJECTIONS);
    const rebuildMs = Date.now() - t2;
    const rebuildCpu = process.cpuUsage(cpu2);
    const rebuildCpuMs = (rebuildCpu.user + rebuildCpu.system) / 1000;
    // The raw limit: a catch-up can be no faster than reading the log. Measured last, so the
    // garbage of reading a million events does not weigh on the runner's figures.
    const t0r = Date.now();
    const cpu0r = process.cpuUsage();
    let read = 0;
    for await (const _event of store.readAll({ fromPosition: 'start' })) read++;
    const rawReadMs = Date.now() - t0r;
    const rawCpu = process.cpuUsage(cpu0r);
    const rawReadCpuMs = (rawCpu.user + rawCpu.system) / 1000;

    const lines = (db.prepare('SELECT COUNT(*) AS c FROM job_log_lines').get() as { c: number }).c;
    db.close();

    const events = Number(head.commit);
    const result = {
      events,
      logLines: lines,
      appendMs: writeMs,
      runnerCatchUpMs: runnerMs,
      runnerEventsPerSecond: Math.round(events / (runnerMs / 1000)),
      runnerCpuMs: Math.round(runnerCpuMs),
      runnerEventsPerCpuSecond: Math.round(events / (runnerCpuMs / 1000)),
      rebuildMs,
      rebuildEventsPerSecond: Math.round(rebuilt.eventsRead / (rebuildMs / 1000)),
      rebuildCpuMs: Math.round(rebuildCpuMs),
      rawReadMs,
      rawReadEventsPerSecond: Math.round(read / (rawReadMs / 1000)),
      rawReadCpuMs: Math.round(rawReadCpuMs),
      loadAverage: os.loadavg()[0],
    };
    console.log('projections catch-up benchmark');
    console.log(`  events in log          ${events}`);
    console.log(
      `  raw limit: read log    ${rawReadMs} ms  (${result.rawReadEventsPerSecond} events/s, CPU ${result.rawReadCpuMs} ms)`,
    );
    console.log(`  log lines projected    ${lines}`);
    console.log(`  runner catch-up        ${runnerMs} ms  (${result.runnerEventsPerSecond} events/s)`);
    console.log(
      `  runner CPU time        ${result.runnerCpuMs} ms  (${result.runnerEventsPerCpuSecond} events per CPU-second, store reads included)`,
    );
    console.log(
      `  full rebuild           ${rebuildMs} ms  (${result.rebuildEventsPerSecond} events/s, CPU ${result.rebuildCpuMs} ms)`,
    );
    console.log(`  load average (1 min)   ${result.loadAverage.toFixed(1)} on ${os.cpus().length} CPUs`);
    if (asJson) console.log(JSON.stringify(result));
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
