import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QueryUploadDecoder, type WirePayloadMap } from '@rf/events';
import { readResticVersion } from '@rf/restic';
import pino from 'pino';
import { QueryRunnerService } from './query-runner.service';

const RESTIC = '/usr/bin/restic';
const PASSWORD = 'query-runner-spec';

type Answer = { type: 'query.end' | 'query.error'; payload: Record<string, unknown> };

/** What one upload carried: restic's bytes and the answer envelope. */
interface Upload {
  socket: net.Socket;
  bytes: Buffer[];
  answer: Answer | undefined;
}

/**
 * One runner whose uploads go to a real local TCP server that decodes the
 * frames; `paused` uploads are not read (a slow control plane).
 */
async function harness(repoUrl: string, opts: { maxConcurrent?: number; paused?: boolean } = {}) {
  const uploads = new Map<string, Upload>();
  const servers: net.Server[] = [];
  const runner = new QueryRunnerService({
    // A listener of its own per upload, so concurrent uploads never mix.
    openUpload: async (queryId) => {
      const server = net.createServer((socket) => {
        const u: Upload = { socket, bytes: [], answer: undefined };
        uploads.set(queryId, u);
        const decoder = new QueryUploadDecoder({
          data: (b) => u.bytes.push(Buffer.from(b)),
          answer: (text) => (u.answer = JSON.parse(text) as Answer),
        });
        socket.on('data', (piece: Buffer) => decoder.push(piece));
        socket.on('error', () => undefined);
        if (opts.paused) socket.pause();
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      return await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1', () => resolve(c));
        c.once('error', reject);
      });
    },
    repository: (id) => (id === undefined || id === 'r1' ? { url: repoUrl, password: PASSWORD } : undefined),
    restic: async () => ({ bin: RESTIC, version: await readResticVersion(RESTIC) }),
    logger: pino({ level: 'silent' }),
    timeoutMs: 60_000,
    cancelGraceMs: 5_000,
    maxConcurrent: opts.maxConcurrent ?? 4,
  });
  const answered = (id: string): Promise<Answer> =>
    new Promise((resolve) => {
      const t = setInterval(() => {
        const a = uploads.get(id)?.answer;
        if (a) {
          clearInterval(t);
          resolve(a);
        }
      }, 20);
    });
  const bytesOf = (id: string): Buffer => Buffer.concat(uploads.get(id)?.bytes ?? []);
  const close = (): void => {
    for (const u of uploads.values()) u.socket.destroy();
    for (const s of servers) s.close();
  };
  return { runner, uploads, answered, bytesOf, close };
}

const start = (p: Partial<WirePayloadMap['query.start']>): WirePayloadMap['query.start'] =>
  ({
    query_id: randomUUID(),
    max_bytes: 1 << 30,
    upload_token: 't'.repeat(43),
    ...p,
  }) as WirePayloadMap['query.start'];

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

  it('streams a dump into the upload and ends with query.end once every byte is there', async () => {
    const h = await harness(repo);
    const q = start({ kind: 'dump', snapshot: sid, path: `${data}/big.bin` });
    h.runner.start(q);
    const end = await h.answered(q.query_id);
    h.close();
    assert.equal(end.type, 'query.end', JSON.stringify(end.payload));
    assert.equal(end.payload.bytes, big.length);
    assert.ok(h.bytesOf(q.query_id).equals(big), 'the bytes are the file');
  });

  it('an upload nobody reads blocks restic; closing it interrupts restic', async () => {
    const h = await harness(repo, { paused: true });
    const q = start({ kind: 'dump', snapshot: sid, path: `${data}/big.bin` });
    h.runner.start(q);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(h.runner.active, 1, 'restic still runs, blocked on its pipe');
    assert.equal(h.uploads.get(q.query_id)?.answer, undefined, 'not ended while the upload is not read');
    // The control plane gives up on the answer: it closes the upload.
    h.uploads.get(q.query_id)!.socket.destroy();
    for (let i = 0; i < 200 && h.runner.active > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(h.runner.active, 0, 'restic stopped');
    h.close();
  });

  it('stops restic and answers too_large past max_bytes', async () => {
    const h = await harness(repo);
    const q = start({ kind: 'dump', snapshot: sid, path: `${data}/big.bin`, max_bytes: 1024 * 1024 });
    h.runner.start(q);
    const a = await h.answered(q.query_id);
    h.close();
    assert.equal(a.type, 'query.error');
    assert.equal(a.payload.code, 'too_large');
    assert.ok(h.bytesOf(q.query_id).length <= 1024 * 1024);
  });

  it('cancel (query.cancel on the socket) interrupts restic while it is blocked on a full pipe', async () => {
    const h = await harness(repo, { paused: true });
    const q = start({ kind: 'dump', snapshot: sid, path: `${data}/big.bin` });
    h.runner.start(q);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(h.runner.active, 1);
    h.runner.cancel(q.query_id);
    h.uploads.get(q.query_id)!.socket.resume();
    const a = await h.answered(q.query_id);
    h.close();
    assert.equal(a.type, 'query.error');
    assert.equal(a.payload.code, 'cancelled');
    assert.equal(h.runner.active, 0);
  });

  it('answers not_found for a path the snapshot lacks, and refuses an unknown repository and a query past the limit', async () => {
    const h = await harness(repo, { maxConcurrent: 1 });
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
    h.close();
  });

  it('lists a folder as ls --json lines', async () => {
    const h = await harness(repo);
    const q = start({ kind: 'ls', snapshot: sid, path: `${data}/sub` });
    h.runner.start(q);
    assert.equal((await h.answered(q.query_id)).type, 'query.end');
    h.close();
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
