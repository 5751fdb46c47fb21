import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

/**
 * The control plane's CLIs import `@rf/event-store` too. The EventStoreDB client
 * (gRPC) and Nest (~20 MB each) must load only when the control plane boots
 * the module or selects ESDB, never just by importing the library.
 */
describe('@rf/event-store import cost', () => {
  it('importing the library loads neither @eventstore/db-client nor Nest; selecting ESDB loads the client', () => {
    const index = path.resolve(__dirname, 'index.js');
    const probe = `
      const events = require(${JSON.stringify(index)});
      const loaded = (name) => Object.keys(require.cache).some((k) => k.includes(name));
      const before = { client: loaded('@eventstore/db-client'), nest: loaded('@nestjs/') };
      const store = events.createEventStoreFromEnv({ RF_EVENTSTORE: 'esdb://127.0.0.1:1?tls=false' });
      const after = { client: loaded('@eventstore/db-client') };
      store.close().then(() => console.log(JSON.stringify({ before, after })));
    `;
    const res = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '{}'), {
      before: { client: false, nest: false },
      after: { client: true },
    });
  });
});
