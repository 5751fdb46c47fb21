import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { pumpDownload } from './download.pump';

/** A source of `total` bytes (or endless) in 64 KiB pieces, as the upload delivers them; counts what it made. */
class Source extends Readable {
  made = 0;
  readonly hash = createHash('sha256');
  constructor(private readonly total = Infinity) {
    super({ highWaterMark: 256 * 1024 });
  }
  override _read(): void {
    if (this.made >= this.total) {
      this.push(null);
      return;
    }
    const piece = randomBytes(Math.min(64 * 1024, this.total - this.made));
    this.made += piece.length;
    this.hash.update(piece);
    this.push(piece);
  }
}

describe('pumpDownload (real HTTP server and client)', () => {
  let server: http.Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
    server = undefined;
  });

  /** Serves `source` through the pump; resolves with the URL and a promise of the pump's end. */
  const serve = async (
    source: Readable,
    maxBuffered?: number,
  ): Promise<{ url: string; pumped: Promise<void> }> => {
    let done!: (p: Promise<void>) => void;
    const pumped = new Promise<Promise<void>>((r) => (done = r));
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      done(pumpDownload(source, res, maxBuffered));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      pumped: pumped.then((p) => p),
    };
  };

  it('delivers every byte in order to a reader that keeps up, and ends the response', async () => {
    const source = new Source(9 * 1024 * 1024 + 123);
    const { url, pumped } = await serve(source);
    const got = createHash('sha256');
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      http.get(url, (res) => {
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          got.update(c);
        });
        res.once('end', resolve);
        res.once('error', reject);
      });
    });
    await pumped;
    assert.equal(bytes, source.made);
    assert.equal(got.digest('hex'), source.hash.digest('hex'));
  });

  it('stops the source while the reader does not read, and resumes it when the reader reads again', async () => {
    const source = new Source();
    const { url, pumped } = await serve(source, 256 * 1024);
    let received = 0;
    const res = await new Promise<http.IncomingMessage>((r) => http.get(url, r));
    res.on('data', (c: Buffer) => (received += c.length));
    await sleep(100);
    res.pause();
    // What is in flight settles (kernel buffers, the pump's bound, the source's buffer), then nothing more is made.
    let before = -1;
    for (let i = 0; i < 50 && source.made !== before; i++) {
      before = source.made;
      await sleep(100);
    }
    assert.equal(source.made, before, 'the source is still being read while the reader is stopped');
    assert.equal(source.isPaused(), true);
    assert.ok(source.made - received < 64 * 1024 * 1024, `${source.made - received} bytes held up`);
    res.resume();
    await sleep(200);
    assert.ok(source.made > before, 'the source was not resumed');
    res.destroy();
    await pumped;
  });

  it('destroys the source when the reader goes away', async () => {
    const source = new Source();
    const { url, pumped } = await serve(source);
    const res = await new Promise<http.IncomingMessage>((r) => http.get(url, r));
    res.once('data', () => res.destroy());
    await pumped;
    assert.equal(source.destroyed, true);
  });

  it("aborts the response on the source's error: the reader never sees a clean end", async () => {
    const source = new Source();
    const { url, pumped } = await serve(source);
    const outcome = await new Promise<string>((resolve) => {
      http.get(url, (res) => {
        res.once('data', () => source.destroy(new Error('the agent failed')));
        res.on('data', () => undefined);
        res.once('end', () => resolve('end'));
        res.once('aborted', () => resolve('aborted'));
        res.once('error', () => resolve('error'));
      });
    });
    await pumped;
    assert.notEqual(outcome, 'end');
  });
});
