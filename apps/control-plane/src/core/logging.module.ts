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
      useFactory: (config: AppConfig) => {
        const base = buildPinoOptions(config);
        const withBody = (req: IncomingMessage & { body?: unknown }, _res: unknown, line: object): object =>
          config.logLevel === 'trace' && req.body !== undefined ? { ...line, body: req.body } : line;
        return {
          pinoHttp: {
            ...base,
            genReqId: (req: IncomingMessage) => {
              const header = req.headers['x-request-id'];
              return typeof header === 'string' && /^[\w-]{1,64}$/.test(header) ? header : randomUUID();
            },
            // Health probes and metrics scrapes would drown the log.
            autoLogging: {
              ignore: (req: IncomingMessage) => /^\/(healthz|readyz|metrics)\b/.test(req.url ?? ''),
            },
            // At trace level the parsed request body goes with the request's completion line (secrets
            // hidden by name). Not a binding: that would copy it onto every line logged during the request.
            customSuccessObject: withBody,
            customErrorObject: withBody,
            serializers: {
              ...base.serializers,
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
        };
      },
    }),
  ],
})
export class LoggingModule {}
