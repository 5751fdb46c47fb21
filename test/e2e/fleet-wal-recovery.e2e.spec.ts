/**
 * A torn tail of the event log: the control plane is SIGKILLed while it
 * appends, then the last transaction in `events.db-wal` is cut short. The next
 * start must recover to the last intact transaction, say so in its log, and
 * keep working (new orders are appended and projected).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { inspectSqliteWal } from '@rf/event-store';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { readStream } from '../support/event-log.reader';
import { eventually } from '../support/fleet';
import { RestClient } from '../support/rest-client';
import { onlineAgentWithJob, type ScriptedAgent } from '../support/scripted-agent';

const LINES = 20_000;

describe('fleet: a torn event-log tail after a crash mid-append (e2e)', () => {
  let cp: ControlPlaneProcess | undefined;
  let agent: ScriptedAgent | undefined;

  after(async () => {
    agent?.terminate();
    await cp?.stop();
    cp?.removeDataDir();
  });

  it('recovers to the last intact transaction, says so in its log, and keeps working', async () => {
    cp = await ControlPlaneProcess.start();
    const dataDir = cp.dataDir;
    const admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    const online = await onlineAgentWithJob(admin, cp.wsUrl);
    agent = online.agent;
    const { identity, jobId } = online;

    // Kill while lines are still being appended (a few hundred acked, many more in flight).
    let killing: Promise<void> | undefined;
    const timer = setInterval(() => {
      if (agent!.acked.size >= 500 && killing === undefined) killing = cp!.kill();
    }, 5);
    try {
      for (let seq = 1; seq <= LINES && killing === undefined; seq++) {
        agent.send(
          'log.stream',
          { job_id: jobId, seq, ts: new Date().toISOString(), stream: 'stdout', payload: `line ${seq}` },
          jobId,
        );
        if (seq % 200 === 0) await new Promise((r) => setTimeout(r, 2));
      }
      await eventually('the kill', () => killing !== undefined, 60_000, 10);
      await killing;
    } finally {
      clearInterval(timer);
    }
    agent.terminate();

    // Cut the last committed transaction short: it must be dropped, everything before it kept.
    const walPath = path.join(dataDir, 'events.db-wal');
    const wal = inspectSqliteWal(walPath);
    assert.ok(wal && wal.committedEnd > 32, `the WAL holds committed transactions: ${JSON.stringify(wal)}`);
    fs.truncateSync(walPath, wal.committedEnd - 100);
    const torn = inspectSqliteWal(walPath);
    assert.ok(torn && torn.committedEnd < wal.committedEnd, JSON.stringify(torn));

    cp = await ControlPlaneProcess.start({ dataDir });
    // Reported as a warning in the server's structured (pino) log, not only as a bare stderr line.
    // (pino writes asynchronously: the entry may follow the "listening" line the start waits for.)
    const recovered = await eventually(
      'a structured log entry about the recovery',
      () =>
        cp!
          .logText()
          .split('\n')
          .flatMap((line) => {
            try {
              return [JSON.parse(line) as { level?: number; msg?: string }];
            } catch {
              return [];
            }
          })
          .find((entry) => /recovered after an unclean shutdown/.test(entry.msg ?? '')),
      10_000,
    );
    assert.equal(recovered.level, 40, 'logged at warn level');
    assert.match(recovered.msg ?? '', /last intact transaction/);

    // What survived is a clean prefix: seqs 1..k, none doubled, none missing in between.
    const seqs = (await readStream(dataDir, `joblog-${jobId}`))
      .filter((e) => e.type === 'LogStreamLine')
      .map((e) => (e.data as { seq: number }).seq);
    assert.ok(seqs.length > 0);
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i + 1),
    );

    // The control plane still takes orders and shows them (its read models follow the recovered log).
    const admin2 = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    const next = await admin2.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, {
      kind: 'check',
    });
    assert.equal(next.status, 202, JSON.stringify(next.body));
    const shown = await admin2.get<{ status: string }>(`/api/jobs/${next.body.job_id}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.status, 'queued');
    const listed = await eventually(
      'the new job in the list',
      async () =>
        (
          await admin2.get<{ jobs: Array<{ id: string }> }>(`/api/jobs?host=${identity.agentId}&limit=500`)
        ).body.jobs.some((j) => j.id === next.body.job_id),
      20_000,
    );
    assert.ok(listed);
  });
});
