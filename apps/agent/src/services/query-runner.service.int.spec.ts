import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeQueryChunk, type WirePayloadMap } from '@rf/events';
import { readResticVersion } from '@rf/restic';
import pino from 'pino';
import { QueryRunnerService } from './query-runner.service';

const RESTIC = '/usr/bin/restic';
const PASSWORD = 'query-runner-spec';

type Answer = { type: 'query.end' | 'query.error'; payload: Record<string, unknown> };

/** One runner with a fake socket that records frames and answers, granting credit only when told. */
function harness(repoUrl: string, maxConcurrent = 4) {
  const frames: Buffer[] = [];
  const answers: Answer[] = [];
  const runner = new QueryRunnerService({
    sendMessage: (type, payload) => answers.push({ type, payload: payload as Record<string, unknown> }),
    sendFrame: (frame) => {
      frames.push(frame);
      return true;
    },
    bufferedAmount: () => 0,
    repository: (id) => (id === undefined || id === 'r1' ? { url: repoUrl, password: PASSWORD } : undefined),
    restic: async () => ({ bin: RESTIC, version: await readResticVersion(RESTIC) }),
    logger: pino({ level: 'silent' }),
    timeoutMs: 60_000,
    cancelGraceMs: 5_000,
    maxConcurrent,
  });
  const answered = (id: string): Promise<Answer> =>
    new Promise((resolve) => {
      const t = setInterval(() => {
        const a = answers.find((x) => x.payload.query_id === id);
        if (a) {
          clearInterval(t);
          resolve(a);
        }
      }, 20);
    });
  const bytesOf = (id: string): Buffer =>
    Buffer.concat(
      frames
        .map((f) => decodeQueryChunk(f)!)
        .filter((d) => d.queryId === id)
        .map((d) => d.data),
    );
  return { runner, frames, answers, answered, bytesOf };
}

const start = (p: Partial<WirePayloadMap['query.start']>): WirePayloadMap['query.start'] =>
  ({ query_id: randomUUID(), max_bytes: 1 << 30, credit: 1 << 30, ...p }) as WirePayloadMap['query.start'];

function restic(repo: string, args: string[], cwd?: string): string {
  const r = spawnSync(RESTIC, ['-r', repo, ...args], {
    cwd,
    env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`restic ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('QueryRunnerService (real restic 0.14, local repository)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-query-runner-'));
  const repo = path.join(dir, 'repo');
  const data = path.join(dir, 'data');
  const big = randomBytes(8 * 1024 * 1024);
  let sid = '';

  before(() => {
    fs.mkdirSync(path.join(data, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(data, 'sub', 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(data, 'big.bin'), big);
    restic(repo, ['init']);
    restic(repo, ['backup', '--json', data]);
    sid = (JSON.parse(restic(repo, ['snapshots', '--json'])) as Array<{ id: string }>)[0]!.id;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('streams a dump in credit-sized pieces and ends once everything was sent', async () => {
    const h = harness(repo);
    const q = start({ kind: 'dump', snapshot: sid, path: `${data}/big.bin`, credit: 256 * 1024 });
    h.runner.start(q);
    // Without more credit the agent stops at exactly what was granted.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(h.bytesOf(q.query_id).length, 256 * 1024);
    assert.equal(h.answers.length, 0, 'not ended while bytes wait for credit');
    const pump = setInterval(() => h.runner.credit({ query_id: q.query_id, bytes: 512 * 1024 }), 5);
    const end = await h.answered(q.query_id);
    clearInterval(pump);
    assert.equal(end.type, 'query.end', JSON.stringify(end.payload));
    assert.equal(end.payload.bytes, big.length);
    assert.ok(h.bytesOf(q.query_id).equals(big), 'the bytes are the file');
    assert.ok(
      h.frames.every((f) => f.length <= 17 + 64 * 1024),
      'frames of at most 64 KiB',
    );
  });

  it('stops restic and answers too_large past max_bytes', async () => {
    const h = harness(repo);
    const q = start({ kind: 'dump', snapshot: sid, path: `${data}/big.bin`, max_bytes: 1024 * 1024 });
    h.runner.start(q);
    const a = await h.answered(q.query_id);
    assert.equal(a.type, 'query.error');
    assert.equal(a.payload.code, 'too_large');
    assert.ok(h.bytesOf(q.query_id).length <= 1024 * 1024);
  });

  it('cancel interrupts restic while it is blocked on a full pipe', async () => {
    const h = harness(repo);
    const q = start({ kind: 'dump', snapshot: sid, path: `${data}/big.bin`, credit: 64 * 1024 });
    h.runner.start(q);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(h.runner.active, 1);
    h.runner.cancel(q.query_id);
    const a = await h.answered(q.query_id);
    assert.equal(a.type, 'query.error');
    assert.equal(a.payload.code, 'cancelled');
    assert.equal(h.runner.active, 0);
  });

  it('answers not_found for a path the snapshot lacks, and refuses an unknown repository and a query past the limit', async () => {
    const h = harness(repo, 1);
    const missing = start({ kind: 'dump', snapshot: sid, path: `${data}/nope.txt` });
    h.runner.start(missing);
    const busy = start({ kind: 'ls', snapshot: sid, path: data });
    h.runner.start(busy);
    assert.equal((await h.answered(busy.query_id)).payload.code, 'busy');
    const a = await h.answered(missing.query_id);
    assert.equal(a.type, 'query.error');
    assert.equal(a.payload.code, 'not_found', JSON.stringify(a.payload));
    const elsewhere = start({ kind: 'ls', snapshot: sid, path: data, repository_id: 'r9' });
    h.runner.start(elsewhere);
    assert.equal((await h.answered(elsewhere.query_id)).payload.code, 'not_configured');
  });

  it('lists a folder as ls --json lines', async () => {
    const h = harness(repo);
    const q = start({ kind: 'ls', snapshot: sid, path: `${data}/sub` });
    h.runner.start(q);
    assert.equal((await h.answered(q.query_id)).type, 'query.end');
    const paths = h
      .bytesOf(q.query_id)
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { path?: string }).path)
      .filter(Boolean);
    assert.deepEqual(paths, [`${data}/sub`, `${data}/sub/a.txt`]);
  });
});
