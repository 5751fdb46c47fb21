import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DeliveryError } from '../delivery-error';

/** One request as a test receiver saw it. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The status the receiver answered. */
  readonly status: number;
}

/**
 * A real HTTP receiver on 127.0.0.1 that records every request. `answers`
 * holds the statuses to answer with, in order (then 200); `hang` keeps requests
 * open without answering (a dead receiver that still accepts connections).
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Requests received and not answered (when hanging). */
  readonly hanging: http.ServerResponse[] = [];
  private readonly server: http.Server;
  private answers: number[] = [];
  private hang = false;
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.hang) {
          this.hanging.push(res);
          return;
        }
        const status = this.answers.shift() ?? 200;
        this.requests.push({
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          status,
        });
        res.writeHead(
          status,
          status >= 300 && status < 400 ? { location: 'http://127.0.0.1:9/elsewhere' } : {},
        );
        res.end(status >= 400 ? `receiver says ${status}` : 'ok');
        this.waiters = this.waiters.filter((w) =>
          this.requests.length >= w.n ? (w.resolve(), false) : true,
        );
      });
    });
  }

  static async start(): Promise<HttpReceiver> {
    const r = new HttpReceiver();
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(p = '/'): string {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  answer(...statuses: number[]): this {
    this.answers.push(...statuses);
    return this;
  }

  hangUp(on = true): this {
    this.hang = on;
    return this;
  }

  /** Resolves when `n` requests were answered, or rejects after `timeoutMs`. */
  received(n: number, timeoutMs = 10_000): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`receiver got ${this.requests.length} of ${n} requests within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function refusedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI. */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'pipe', timeout: 20_000 },
    );
    return {
      key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The DeliveryError a delivery fails with (fails the test if it succeeds or throws anything else). */
export async function deliveryFailure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliveryError, String(err));
    return err;
  }
  assert.fail('expected the delivery to fail');
}
