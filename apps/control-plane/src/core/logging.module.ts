import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from './app-config';
import { buildPinoOptions } from './pino-options';

/**
 * nestjs-pino with base `{service, version}`, request ids and secret redaction
 * (docs/architecture.md, "Security").
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          ...buildPinoOptions(config),
          genReqId: (req: IncomingMessage) => {
            const header = req.headers['x-request-id'];
            return typeof header === 'string' && /^[\w-]{1,64}$/.test(header) ? header : randomUUID();
          },
          // Health probes and metrics scrapes would drown the log.
          autoLogging: {
            ignore: (req: IncomingMessage) => /^\/(healthz|readyz|metrics)\b/.test(req.url ?? ''),
          },
          serializers: {
            req: (req: { id?: unknown; method?: unknown; url?: unknown }) => ({
              id: req.id,
              method: req.method,
              url:
                typeof req.url === 'string'
                  ? req.url.replace(/([?&](?:token|password|secret)=)[^&]*/gi, '$1[Redacted]')
                  : req.url,
            }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
