// Child process for the durability contract: appends one event at a time from
// a few concurrent loops (so group commit batches them) and prints each event id
// on stdout only after its append resolved. The parent SIGKILLs it mid-flight.
//   node sqlite-appender.child.js <db path> <stream> <FULL|NORMAL>
import { randomUUID } from 'node:crypto';
import { createSqliteEventStore } from '../sqlite-event-store';

const [dbPath, stream, synchronous] = process.argv.slice(2);
if (!dbPath || !stream || (synchronous !== 'FULL' && synchronous !== 'NORMAL')) {
  process.stderr.write('usage: sqlite-appender.child.js <db path> <stream> <FULL|NORMAL>\n');
  process.exit(2);
}
const store = createSqliteEventStore({ path: dbPath, synchronous });

async function loop(worker: number): Promise<void> {
  for (let n = 0; ; n++) {
    const id = randomUUID();
    await store.append(stream!, [
      { id, type: 'DurabilityProbed', data: { worker, n, pad: 'x'.repeat(150) } },
    ]);
    // stdout to a pipe is synchronous on Linux: once written, the parent can read it.
    process.stdout.write(`${id}\n`);
  }
}

Promise.all([0, 1, 2, 3].map(loop)).catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
