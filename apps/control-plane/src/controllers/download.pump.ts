import type { Readable, Writable } from 'node:stream';

/**
 * How much of a download may wait in the response's buffer before the
 * answer is paused. The response's own mark (16 KiB) is below one read of the
 * upload (64 KiB), so honouring it paused and resumed the upload's socket
 * after every read (docs/browse.md, "Throughput").
 */
export const RESPONSE_BUFFER_BYTES = 1024 * 1024;

/**
 * Moves a download's answer into its HTTP response (docs/browse.md, "Flow
 * control" and "Throughput"):
 * - the pieces read in one turn of the event loop leave in one write (the
 *   response is corked, and uncorked on `setImmediate`);
 * - the answer is paused only while more than `maxBuffered` bytes wait in the
 *   response, and resumed when the response has drained, so a slow reader
 *   still stops the answer (whose own buffer then stops the upload, and TCP
 *   stops restic), but a reader that keeps up never pauses it;
 * - the answer's error aborts the response (never a short file ending well),
 *   and a response that closes before the answer ended destroys the answer
 *   (which cancels the query).
 * Resolves when the response has closed, whichever way.
 */
export function pumpDownload(
  source: Readable,
  res: Writable,
  maxBuffered = RESPONSE_BUFFER_BYTES,
): Promise<void> {
  return new Promise((resolve) => {
    let corked = false;
    let waiting = false;
    const uncork = (): void => {
      corked = false;
      res.uncork();
    };
    const resume = (): void => {
      waiting = false;
      source.resume();
    };
    const onData = (chunk: Buffer): void => {
      if (!corked) {
        corked = true;
        res.cork();
        // end() uncorks fully, so a response that ends meanwhile is never left corked.
        setImmediate(uncork);
      }
      res.write(chunk);
      if (!waiting && res.writableLength > maxBuffered) {
        waiting = true;
        source.pause();
        res.once('drain', resume);
      }
    };
    const onEnd = (): void => {
      res.end();
    };
    const onError = (err: Error): void => {
      res.destroy(err);
    };
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onError);
    res.once('close', () => {
      source.off('data', onData);
      source.off('end', onEnd);
      res.off('drain', resume);
      if (!source.readableEnded) source.destroy();
      resolve();
    });
  });
}
