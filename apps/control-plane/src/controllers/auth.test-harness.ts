import 'reflect-metadata';
import {
  Body,
  Controller,
  Get,
  Global,
  HttpCode,
  Module,
  Post,
  ValidationPipe,
  type INestApplication,
  type LoggerService,
  type Type,
} from '@nestjs/common';
import { IsOptional, IsString } from 'class-validator';
import { NestFactory } from '@nestjs/core';
import * as fs from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import * as os from 'node:os';
import * as path from 'node:path';
import { createSqliteEventStore, EVENT_STORE, type EventStore } from '@rf/event-store';
import { HttpExceptionFilter, validationErrorFactory } from '../middleware/http-exception.filter';
import { AppConfig } from '../core/app-config';
import { ConfigModule } from '../core/config.module';
import { RepositoriesModule } from '../repositories/repositories.module';
import { ApiTokensController } from './api-tokens.controller';
import { AuthController } from './auth.controller';
import { EnrolmentController } from './enrolment.controller';
import { UsersController } from './users.controller';
import { AuthModule } from '../middleware/auth.module';
import { AuthSettings } from '../core/auth.settings';
import { CurrentActor, Public, Roles } from '../middleware/auth.decorators';
import { type Actor } from '../core/actor';
import { RequestAuthenticator } from '../middleware/request-authenticator';

/*
 * Test support for auth specs: a real Nest app on a real port over a real
 * SQLite event store in a temp dir, with a probe controller whose routes use
 * the default role rules, an admin-only route and a public one.
 */

class ProbeDto {
  @IsOptional()
  @IsString()
  note?: string;
}

@Controller('api/probe')
class ProbeController {
  @Get()
  read(@CurrentActor() actor: Actor) {
    return { actor };
  }

  @Post()
  @HttpCode(200)
  write(@CurrentActor() actor: Actor, @Body() dto: ProbeDto) {
    return { written: true, actor, note: dto.note ?? null };
  }

  @Roles('admin')
  @Get('admin')
  adminOnly() {
    return { admin: true };
  }

  @Public()
  @Get('public')
  open() {
    return { public: true };
  }
}

export interface TestClock {
  offsetMs: number;
}

export interface AuthTestServer {
  readonly url: string;
  readonly app: INestApplication;
  readonly store: EventStore;
  readonly dataDir: string;
  readonly clock: TestClock;
  readonly banners: string[];
  close(): Promise<void>;
}

export const tempDataDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rf-auth-'));

export async function startAuthTestServer(
  options: {
    dataDir?: string;
    env?: Record<string, string>;
    settings?: Partial<AuthSettings>;
    /** More modules for the app (the routes a spec exercises behind the real guard). */
    imports?: Array<Type<unknown>>;
    /** Where Nest logs go; silent by default. */
    logger?: LoggerService;
  } = {},
): Promise<AuthTestServer> {
  const dataDir = options.dataDir ?? tempDataDir();
  const config = AppConfig.fromEnv({ RF_DATA_DIR: dataDir, RF_LISTEN: '127.0.0.1:0', ...options.env });
  const store = createSqliteEventStore({ path: path.join(dataDir, 'events.db') });
  const clock: TestClock = { offsetMs: 0 };
  const banners: string[] = [];

  @Global()
  @Module({ providers: [{ provide: EVENT_STORE, useValue: store }], exports: [EVENT_STORE] })
  class TestStoreModule {}

  @Module({
    imports: [
      ConfigModule.forRoot(config),
      TestStoreModule,
      RepositoriesModule,
      AuthModule.forRoot({
        now: () => Date.now() + clock.offsetMs,
        writeBanner: (text) => banners.push(text),
        ...options.settings,
      }),
      ...(options.imports ?? []),
    ],
    // The auth area's own controllers, as ApiModule mounts them.
    controllers: [ProbeController, AuthController, UsersController, ApiTokensController, EnrolmentController],
  })
  class TestAppModule {}

  const app = await NestFactory.create(TestAppModule, { logger: options.logger ?? false });
  // The same global pipe and filter as main.ts, so answers have the production shape.
  app.useGlobalPipes(
    new ValidationPipe({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      exceptionFactory: validationErrorFactory,
    }),
  );
  app.useGlobalFilters(new HttpExceptionFilter());
  // A browser-style WebSocket at /ws-probe, authenticated the way the live tail does it.
  const authenticator = app.get(RequestAuthenticator);
  const wss = new WebSocketServer({ noServer: true });
  const httpServer = app.getHttpServer() as Server;
  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url !== '/ws-probe') return;
    authenticator.authenticateUpgrade(req).then(
      (result) => {
        if (!result) {
          socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.send(JSON.stringify({ actor: result.actor.name ?? result.actor.id, via: result.via }));
          ws.close();
        });
      },
      () => socket.destroy(),
    );
  });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    app,
    store,
    dataDir,
    clock,
    banners,
    close: async () => {
      wss.close();
      await app.close();
      await store.close();
    },
  };
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A minimal browser: keeps cookies, can send the CSRF token as header or form field. */
export class TestClient {
  readonly cookies = new Map<string, string>();
  readonly setCookieLines: string[] = [];

  constructor(private readonly baseUrl: string) {}

  async request(
    method: string,
    urlPath: string,
    options: {
      json?: unknown;
      form?: Record<string, string>;
      headers?: Record<string, string>;
      csrf?: 'header' | 'none';
      bearer?: string;
    } = {},
  ): Promise<HttpResult> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const csrf = this.cookies.get('rf_csrf');
    if (options.csrf === 'header' && csrf) headers['x-csrf-token'] = csrf;
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    }
    const res = await fetch(this.baseUrl + urlPath, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    for (const line of res.headers.getSetCookie()) {
      this.setCookieLines.push(line);
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Non-JSON answers stay text.
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  async login(username: string, password: string): Promise<HttpResult> {
    return this.request('POST', '/api/auth/login', { json: { username, password } });
  }
}

/** Polls `check` until it returns true; bounded so a broken subscription fails the test instead of hanging. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

export const field = (body: unknown, key: string): unknown =>
  typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;

/** `{error: {code, message, field?}}` as the app's exception filter answers. */
export const errorOf = (body: unknown): { code?: unknown; message?: unknown; field?: unknown } =>
  (field(body, 'error') ?? {}) as { code?: unknown; message?: unknown; field?: unknown };

/** Opens ws://…/ws-probe with the given headers; resolves with the first message or the refusal status. */
export function probeWebSocket(
  baseUrl: string,
  headers: Record<string, string>,
): Promise<{ message?: unknown; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws-probe`, {
      headers,
      handshakeTimeout: 5000,
    });
    ws.on('message', (data: Buffer) => resolve({ message: JSON.parse(data.toString()) as unknown }));
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('error', reject);
  });
}
