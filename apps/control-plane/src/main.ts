import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { isProjectionError } from '@rf/projections';
import { AppConfig, ConfigError } from './core/app-config';
import { AppModule } from './app.module';
import { MetricsRegistry } from './core/metrics.registry';
import { httpMetrics } from './middleware/http-metrics';
import { readYourWrites } from './middleware/read-your-writes';
import { WritePositions } from './domain/write-positions';
import { HttpExceptionFilter, validationErrorFactory } from './middleware/http-exception.filter';
import { AgentGateway } from './gateways/agent.gateway';

export interface RunningServer {
  readonly app: NestExpressApplication;
  readonly url: string;
  close(): Promise<void>;
}

/** Boots the control plane and listens; resolves once the port is bound. */
export async function startServer(config: AppConfig): Promise<RunningServer> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    // Boot failures reach runServe (which says what to do) instead of a log line and exit(1).
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.use(httpMetrics(app.get(MetricsRegistry)));
  app.use(readYourWrites(app.get(WritePositions), config.publicUrl.startsWith('https:')));
  // Behind a reverse proxy req.ip is then the client named in X-Forwarded-For (rate limits are per client).
  if (config.trustedProxies.length > 0) app.set('trust proxy', [...config.trustedProxies]);
  app.useGlobalPipes(
    new ValidationPipe({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      exceptionFactory: validationErrorFactory,
    }),
  );
  app.useGlobalFilters(new HttpExceptionFilter());
  const openApi = new DocumentBuilder()
    .setTitle('restic-fleet control plane')
    .setDescription(
      'Hosts, repositories, schedules, jobs and audit of a restic fleet. Authenticate with a session cookie or `Authorization: Bearer <api token>`.',
    )
    .setVersion(config.version)
    .addBearerAuth()
    .addCookieAuth('rf_session')
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, openApi), {
    jsonDocumentUrl: 'api/docs/openapi.json',
  });
  await app.listen(config.listenPort, config.listenHost);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.listenPort;
  const host = config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost;
  return {
    app,
    url: `http://${host}:${port}`,
    close: async () => {
      // Agents are recorded as disconnected while the event store is still open.
      await app.get(AgentGateway).shutdown();
      await app.close();
    },
  };
}

/** `restic-fleet serve`: returns the exit code. */
export async function runServe(): Promise<number> {
  let config: AppConfig;
  try {
    config = AppConfig.fromEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`restic-fleet serve: invalid configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let server: RunningServer;
  try {
    server = await startServer(config);
  } catch (err) {
    if (isProjectionError(err, 'WrongLog')) {
      process.stderr.write(`restic-fleet serve: refusing to start: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // Machine-readable line the e2e tests and quickstart wait for.
  process.stdout.write(`restic-fleet control plane listening on ${server.url}\n`);
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`restic-fleet control plane: ${signal}, shutting down\n`);
      // A stuck socket must not keep the process alive forever.
      const force = setTimeout(() => resolve(1), 10_000);
      force.unref();
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`restic-fleet serve: shutdown failed: ${String(err)}\n`);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

if (require.main === module) {
  runServe().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `restic-fleet serve: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
