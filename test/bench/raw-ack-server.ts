import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';

/*
 * The raw limit for bench:ingest: a WebSocket server that does only what any
 * server of this protocol must do per envelope, and nothing else. It reads the
 * frame, parses the JSON, and acks every envelope that arrived in the same tick
 * with one `ack` envelope, as the control plane's gateway batches its acks.
 * There is no authentication, validation, storage or projection.
 *
 * The bench runs it with the same simulated agents and the same offered load as
 * the control plane, in the same run, so the table shows what this machine can
 * do at best next to what the control plane does.
 *
 *   node dist/test/bench/raw-ack-server.js     → prints "listening ws://127.0.0.1:PORT"
 */

const server = http.createServer((_req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, path: '/agent', perMessageDeflate: false, maxPayload: 256 * 1024 });

wss.on('connection', (ws: WebSocket) => {
  let ids: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const payload = { ids };
    ids = [];
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ v: 1, id: randomUUID(), type: 'ack', ts: new Date().toISOString(), payload }));
  };
  ws.on('message', (data: Buffer) => {
    const id = (JSON.parse(data.toString('utf8')) as { id?: unknown }).id;
    if (typeof id !== 'string') return;
    ids.push(id);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('raw ack server: no TCP address');
  process.stdout.write(`listening ws://127.0.0.1:${address.port}\n`);
});

const stop = (): void => {
  for (const client of wss.clients) client.terminate();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
