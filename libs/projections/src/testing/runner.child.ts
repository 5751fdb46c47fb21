// A projection runner in its own process, for the crash spec: runs until killed.
//   node runner.child.js <events.db> <readmodels.db>
// Prints "checkpoint <commit>" whenever the committed checkpoint moves.
import { createSqliteEventStore } from '@rf/event-store';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { openReadModelsDatabase } from '../engine/read-models.database';
import { ProjectionRunner } from '../engine/projection.runner';
import { defineProjection, type AppendTable } from '../engine/projection.definition';

let report: () => void = () => undefined;

/** Burns ~0.2 ms per event so a SIGKILL from the parent lands mid catch-up rather than after it. */
const slow = defineProjection<{ test_slow: AppendTable<{ n: number | null }, 'n'> }>({
  name: 'test-slow',
  version: 1,
  tables: { test_slow: { kind: 'append', key: ['n'], columns: { n: 'INTEGER' } } },
  indexes: [],
  evolve(_view, e) {
    if (e.type !== 'LogStreamLine' && e.type !== 'JobRequested' && e.type !== 'JobFinished') return;
    report();
    const until = process.hrtime.bigint() + 200_000n;
    while (process.hrtime.bigint() < until);
  },
});

function main(): void {
  const [eventsFile, readModelsFile] = process.argv.slice(2);
  if (!eventsFile || !readModelsFile) throw new Error('usage: runner.child.js <events.db> <readmodels.db>');
  const store = createSqliteEventStore({ path: eventsFile, readonly: true });
  const db = openReadModelsDatabase(readModelsFile);
  // Small batches so the kill lands between (and inside) many transactions.
  const runner = new ProjectionRunner(store, db, [...ALL_PROJECTIONS, slow], { batchSize: 50 });
  runner.start();
  // Reported from inside the catch-up (a page of events is processed in one go, without timers firing).
  let last = -1n;
  report = () => {
    const cp = runner.checkpoint()?.commit ?? 0n;
    if (cp !== last) {
      last = cp;
      process.stdout.write(`checkpoint ${cp}\n`);
    }
  };
}

main();
