import { createHash } from 'node:crypto';

export interface DownloadedFile {
  readonly bytes: Buffer;
  readonly sha256: string;
}

export interface DownloadOptions {
  /** Whole request, body included. */
  readonly timeoutMs: number;
  /** A larger answer is abandoned (a single-file agent is a few MB). */
  readonly maxBytes: number;
}

/** Fetches a new agent file over HTTP(S): bounded in time and size, hashed as it arrives. */
export class AgentDownloadRepository {
  async fetch(url: string, o: DownloadOptions): Promise<DownloadedFile> {
    const signal = AbortSignal.timeout(o.timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { signal, redirect: 'error' });
    } catch (err) {
      throw new Error(`cannot download ${url}: ${describeFetchError(err, o.timeoutMs)}`);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`cannot download ${url}: HTTP ${res.status}`);
    }
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > o.maxBytes) {
          await reader.cancel();
          throw new Error(`cannot download ${url}: larger than ${o.maxBytes} bytes`);
        }
        hash.update(value);
        chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      }
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('cannot download')) throw err;
      throw new Error(`cannot download ${url}: ${describeFetchError(err, o.timeoutMs)}`);
    }
    return { bytes: Buffer.concat(chunks, size), sha256: hash.digest('hex') };
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return `no complete answer within ${timeoutMs / 1000} s`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
