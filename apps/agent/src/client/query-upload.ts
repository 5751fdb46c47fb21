import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';

/** Must equal the control plane's (docs/browse.md, "The upload"). */
export const QUERY_UPLOAD_PROTOCOL = 'restic-fleet-query';

/** `https://host:8443/base` → `https://host:8443/base/agent/queries/{id}`. */
export function queryUploadUrl(server: string, queryId: string): URL {
  const u = new URL(server);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/agent/queries/${queryId}`;
  u.search = '';
  u.hash = '';
  return u;
}

export interface QueryUploadOptions {
  server: string;
  queryId: string;
  /** `agentId.secret`, as on the socket. */
  bearer: string;
  /** The query's one-time token from `query.start`. */
  token: string;
  timeoutMs: number;
}

/**
 * Opens a query's upload: an HTTP upgrade to the control plane the socket is
 * connected to, with the same TLS trust as the socket (Node's defaults plus
 * NODE_EXTRA_CA_CERTS), the agent's credential and the query's token in
 * headers. Resolves with the raw connection, on which the answer's frames go.
 */
export function openQueryUpload(o: QueryUploadOptions): Promise<Duplex> {
  const url = queryUploadUrl(o.server, o.queryId);
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'GET',
      headers: {
        Connection: 'Upgrade',
        Upgrade: QUERY_UPLOAD_PROTOCOL,
        Authorization: `Bearer ${o.bearer}`,
        'X-Query-Token': o.token,
      },
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${o.timeoutMs / 1000} s`)),
      o.timeoutMs,
    );
    req.once('upgrade', (_res, socket, head) => {
      clearTimeout(timer);
      socket.setTimeout(0);
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('response', (res) => {
      clearTimeout(timer);
      res.resume();
      reject(new Error(`the control plane refused the query upload: HTTP ${res.statusCode ?? 0}`));
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}
