import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, pathname: string) => void;

interface Route {
  readonly match: (pathname: string) => boolean;
  readonly handler: UpgradeHandler;
}

/**
 * One `upgrade` listener on the HTTP server that routes WebSocket upgrades by
 * path, so `/agent` and `/api/jobs/{id}/stream` share the port and each
 * gateway can answer its own HTTP status (e.g. 401) before accepting.
 * Gateways call `register` in their constructor or `onModuleInit`.
 */
@Injectable()
export class UpgradeRouter implements OnApplicationBootstrap {
  private readonly routes: Route[] = [];

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  register(match: string | RegExp | ((pathname: string) => boolean), handler: UpgradeHandler): void {
    const fn =
      typeof match === 'string'
        ? (p: string) => p === match
        : match instanceof RegExp
          ? (p: string) => match.test(p)
          : match;
    this.routes.push({ match: fn, handler });
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      let pathname: string;
      try {
        pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      } catch {
        rejectUpgrade(socket, 400, 'bad request url');
        return;
      }
      const route = this.routes.find((r) => r.match(pathname));
      if (!route) {
        rejectUpgrade(socket, 404, 'no WebSocket endpoint at this path');
        return;
      }
      try {
        route.handler(req, socket, head, pathname);
      } catch {
        rejectUpgrade(socket, 500, 'upgrade failed');
      }
    });
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Answers a refused upgrade with a plain HTTP response and closes the socket. */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({
    error: { code: REASONS[status]?.toLowerCase().replace(/ /g, '_') ?? 'error', message },
  });
  const lines = [
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
