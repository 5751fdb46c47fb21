/**
 * restic exit 3 (snapshot saved, some files unreadable) through the real
 * agent. Root reads mode-000 files, so restic runs as `nobody` through a
 * setpriv wrapper given to the agent as RF_RESTIC_BIN (RESTIC.md).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WireMessage } from '@rf/events';
import {
  AgentProcess,
  resticBinaries,
  ScriptedServer,
  tempDir,
  waitUntil,
  writeAgentConfig,
} from './agent-scripted-server';

const NOBODY = 65534;
const TIMEOUT = 90_000;

for (const restic of resticBinaries()) {
  describe(`agent + restic ${restic.label}: unreadable source file → warning (exit 3)`, () => {
    let dir: string;
    let server: ScriptedServer;
    let agent: AgentProcess;

    before(async () => {
      dir = tempDir('rf-agent-warn-');
      fs.chmodSync(dir, 0o755);
      const data = path.join(dir, 'data');
      fs.mkdirSync(data);
      fs.writeFileSync(path.join(data, 'readable.txt'), 'fine\n');
      fs.writeFileSync(path.join(data, 'secret.txt'), 'nobody may read this\n');
      fs.chmodSync(path.join(data, 'secret.txt'), 0o000);
      const repo = path.join(dir, 'repo');
      fs.mkdirSync(repo);
      fs.chownSync(repo, NOBODY, NOBODY);
      const cache = path.join(dir, 'cache');
      fs.mkdirSync(cache);
      fs.chownSync(cache, NOBODY, NOBODY);
      const wrapper = path.join(dir, 'restic-as-nobody');
      fs.writeFileSync(
        wrapper,
        `#!/bin/sh\nexport XDG_CACHE_HOME=${cache}\nexec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups ${restic.bin} "$@"\n`,
        { mode: 0o755 },
      );
      server = new ScriptedServer();
      server.onHello = (s) => s.configureRepository({ url: repo, password: 'warn-password' });
      await server.start();
      agent = new AgentProcess(writeAgentConfig({ dir, server }), { RF_RESTIC_BIN: wrapper });
      await waitUntil('the agent to connect', () => server.hellos.length > 0, 20_000);
      const init = await server.runJob('init', {}, TIMEOUT);
      assert.equal(init.finished.payload.status, 'succeeded', init.finished.payload.error);
    });

    after(async () => {
      await agent?.stop();
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('finishes as warning with exit code 3, names the file in the log, and reports the saved snapshot', async () => {
      const data = path.join(dir, 'data');
      const { jobId, finished, messages } = await server.runJob('backup', { paths: [data] }, TIMEOUT);
      assert.equal(finished.payload.status, 'warning', finished.payload.error);
      assert.equal(finished.payload.exit_code, 3);
      assert.match(finished.payload.error ?? '', /could not be read/);
      const log = messages
        .filter((m): m is Extract<WireMessage, { type: 'log.stream' }> => m.type === 'log.stream')
        .map((m) => m.payload.payload)
        .join('\n');
      assert.match(log, /secret\.txt/);
      const stats = finished.payload.stats as Record<string, unknown>;
      assert.match(String(stats.snapshot_id), /^[0-9a-f]{8,64}$/);
      const report = await server.waitFor('snapshots.report', (m) => m.payload.job_id === jobId, TIMEOUT);
      assert.equal(report.payload.snapshots.length, 1);
    });
  });
}
