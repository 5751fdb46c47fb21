import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WirePayloadMap } from '@rf/events';
import { readResticVersion } from '@rf/restic';
import { resticBinariesForTests } from '@rf/restic/testing';
import pino from 'pino';
import { QueryRunnerService, type QueryAnswer } from './query-runner.service';

const PASSWORD = 'query-runner-spec';
const MiB = 1024 * 1024;

/** What one upload carried: restic's raw bytes, and whether the agent half-closed it. */
interface Upload {
  socket: net.Socket;
  bytes: Buffer[];
  received: number;
  ended: boolean;
}

/** The error code of an answer; `end` for a query.end. */
const codeOf = (a: QueryAnswer): string => (a.type === 'query.error' ? a.payload.code : 'end');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pids of this process's children whose command line mentions `word` (restic runs as our child). */
function children(word: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (ppid === process.pid && cmd.includes(word)) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * One runner whose uploads go to a real local TCP server (one listener per
 * upload, so concurrent uploads never mix) and whose answers are collected as
 * the socket would carry them. `paused` uploads are not read (a slow control
 * plane); `keep: false` counts the bytes without keeping them.
 */
async function harness(
  bin: string,
  repoUrl: string,
  opts: { maxConcurrent?: number; paused?: boolean; handOff?: boolean; keep?: boolean } = {},
) {
  const uploads = new Map<string, Upload>();
  const answers = new Map<string, QueryAnswer>();
  const servers: net.Server[] = [];
  const version = await readResticVersion(bin);
  const runner = new QueryRunnerService({
    openUpload: async (queryId) => {
      const server = net.createServer({ allowHalfOpen: true }, (socket) => {
        const u: Upload = { socket, bytes: [], received: 0, ended: false };
        uploads.set(queryId, u);
        socket.on('data', (piece: Buffer) => {
          u.received += piece.length;
          if (opts.keep !== false) u.bytes.push(piece);
        });
        socket.on('end', () => {
          u.ended = true;
          socket.end();
        });
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
    answer: (m) => {
      answers.set(m.payload.query_id, m);
      return true;
    },
    repository: (id) => (id === undefined || id === 'r1' ? { url: repoUrl, password: PASSWORD } : undefined),
    restic: async () => ({ bin, version }),
    logger: pino({ level: 'silent' }),
    timeoutMs: 120_000,
    cancelGraceMs: 5_000,
    maxConcurrent: opts.maxConcurrent ?? 4,
    ...(opts.handOff !== undefined ? { handOff: opts.handOff } : {}),
  });
  const answered = async (id: string): Promise<QueryAnswer> => {
    for (;;) {
      const a = answers.get(id);
      if (a) return a;
      await sleep(20);
    }
  };
  const bytesOf = (id: string): Buffer => Buffer.concat(uploads.get(id)?.bytes ?? []);
  const close = (): void => {
    for (const u of uploads.values()) u.socket.destroy();
    for (const s of servers) s.close();
  };
  return { runner, uploads, answers, answered, bytesOf, close };
}

const start = (p: Partial<WirePayloadMap['query.start']>): WirePayloadMap['query.start'] =>
  ({
    query_id: randomUUID(),
    max_bytes: 1 << 30,
    upload_token: 't'.repeat(43),
    ...p,
  }) as WirePayloadMap['query.start'];

function restic(bin: string, repo: string, args: string[]): string {
  const r = spawnSync(bin, ['-r', repo, ...args], {
    env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
    encoding: 'utf8',
    maxBuffer: 64 * MiB,
  });
  if (r.status !== 0) throw new Error(`restic ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

for (const { label, bin } of resticBinariesForTests()) {
  describe(`QueryRunnerService (real restic ${label}, local repository, raw upload)`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rf-query-runner-${label}-`));
    const repo = path.join(dir, 'repo');
    const data = path.join(dir, 'data');
    const big = randomBytes(8 * MiB);
    /** 1 GiB of zeros: a few deduplicated chunks in the repository, a full GiB out of `dump`. */
    const GIANT = 1024 * MiB;
    let sid = '';

    before(() => {
      fs.mkdirSync(path.join(data, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(data, 'sub', 'a.txt'), 'alpha\n');
      fs.writeFileSync(path.join(data, 'big.bin'), big);
      const fd = fs.openSync(path.join(data, 'giant.bin'), 'w');
      fs.ftruncateSync(fd, GIANT);
      fs.closeSync(fd);
      restic(bin, repo, ['init']);
      restic(bin, repo, ['backup', '--json', data]);
      sid = (JSON.parse(restic(bin, repo, ['snapshots', '--json'])) as Array<{ id: string }>)[0]!.id;
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    // restic writes into the upload itself (POSIX, plain TCP); or its output is copied (win32, TLS).
    for (const handOff of [true, false])
      it(`${handOff ? 'restic writes a dump into the upload itself' : 'without the hand-off the same raw bytes are copied'}; the upload is half-closed, then query.end`, async () => {
        const h = await harness(bin, repo, { handOff });
        const q = start({ kind: 'dump', snapshot: sid, path: `${data}/big.bin` });
        h.runner.start(q);
        const end = await h.answered(q.query_id);
        for (let i = 0; i < 100 && !h.uploads.get(q.query_id)?.ended; i++) await sleep(20);
        h.close();
        assert.equal(end.type, 'query.end', JSON.stringify(end.payload));
        // Counted only when the agent saw the bytes.
        assert.equal(end.payload.bytes, handOff ? undefined : big.length);
        assert.ok(h.uploads.get(q.query_id)?.ended, 'the upload was half-closed');
        assert.ok(h.bytesOf(q.query_id).equals(big), 'the bytes are the file');
      });

    it('a slow reader of 1 GiB keeps the agent flat and restic blocked; when it goes away restic is gone', async () => {
      const h = await harness(bin, repo, { keep: false });
      const q = start({ kind: 'dump', snapshot: sid, path: `${data}/giant.bin` });
      h.runner.start(q);
      for (let i = 0; i < 500 && !h.uploads.has(q.query_id); i++) await sleep(10);
      const u = h.uploads.get(q.query_id)!;
      // The reader takes 4 MiB, then rests 40 ms (under 100 MB/s, slower than restic): 512 MiB.
      const rss: number[] = [];
      while (u.received < 512 * MiB) {
        u.socket.pause();
        await sleep(40);
        rss.push(process.memoryUsage().rss);
        const target = u.received + 4 * MiB;
        u.socket.resume();
        while (u.received < target && !u.ended) await sleep(2);
        assert.equal(u.ended, false);
      }
      assert.equal(h.answers.has(q.query_id), false, 'restic is still running, blocked by the reader');
      const pids = children('dump');
      assert.equal(pids.length, 1, 'one restic dump runs');
      const settled = rss.slice(Math.floor(rss.length / 4));
      const growth = Math.max(...settled) - Math.min(...settled);
      assert.ok(growth < 32 * MiB, `the agent's RSS moved by ${(growth / MiB).toFixed(1)} MiB`);
      // The reader goes away: restic's next write fails (EPIPE), the agent interrupts it.
      const goneAt = Date.now();
      u.socket.destroy();
      const a = await h.answered(q.query_id);
      const goneMs = Date.now() - goneAt;
      h.close();
      assert.equal(a.type, 'query.error');
      assert.equal(codeOf(a), 'cancelled', JSON.stringify(a.payload));
      assert.deepEqual(children('dump'), [], 'restic has exited');
      assert.ok(
        !fs.existsSync(`/proc/${pids[0]}`) ||
          fs.readFileSync(`/proc/${pids[0]}/stat`, 'utf8').includes(') Z'),
      );
      assert.ok(goneMs < 10_000, `restic took ${goneMs} ms to go`);
      assert.equal(h.runner.active, 0);
    });

    it('cancel (query.cancel on the socket) interrupts restic while it is blocked on the upload', async () => {
      const h = await harness(bin, repo, { paused: true });
      const q = start({ kind: 'dump', snapshot: sid, path: `${data}/giant.bin` });
      h.runner.start(q);
      await sleep(1500);
      assert.equal(h.runner.active, 1, 'restic is blocked on the full upload');
      h.runner.cancel(q.query_id);
      const a = await h.answered(q.query_id);
      h.close();
      assert.equal(a.type, 'query.error');
      assert.equal(codeOf(a), 'cancelled');
      assert.equal(h.runner.active, 0);
      assert.deepEqual(children('dump'), []);
    });

    it('answers not_found for a path the snapshot lacks, and refuses an unknown repository and a query past the limit', async () => {
      const h = await harness(bin, repo, { maxConcurrent: 1 });
      const missing = start({ kind: 'dump', snapshot: sid, path: `${data}/nope.txt` });
      h.runner.start(missing);
      const busy = start({ kind: 'ls', snapshot: sid, path: data });
      h.runner.start(busy);
      assert.equal(codeOf(await h.answered(busy.query_id)), 'busy');
      assert.equal(h.uploads.has(busy.query_id), false, 'a refusal needs no upload');
      const a = await h.answered(missing.query_id);
      assert.equal(a.type, 'query.error');
      assert.equal(codeOf(a), 'not_found', JSON.stringify(a.payload));
      const elsewhere = start({ kind: 'ls', snapshot: sid, path: data, repository_id: 'r9' });
      h.runner.start(elsewhere);
      assert.equal(codeOf(await h.answered(elsewhere.query_id)), 'not_configured');
      h.close();
    });

    it('lists a folder as ls --json lines', async () => {
      const h = await harness(bin, repo);
      const q = start({ kind: 'ls', snapshot: sid, path: `${data}/sub` });
      h.runner.start(q);
      assert.equal((await h.answered(q.query_id)).type, 'query.end');
      for (let i = 0; i < 100 && !h.uploads.get(q.query_id)?.ended; i++) await sleep(20);
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
}
