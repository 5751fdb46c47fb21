import assert from 'node:assert/strict';
import net from 'node:net';

/** A TCP port on 127.0.0.1 with nothing listening (bound, then released): a real server that is down. */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}
