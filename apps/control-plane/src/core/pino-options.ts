import pino, { type LoggerOptions } from 'pino';
import { redactSecrets } from '@rf/events';
import type { AppConfig } from './app-config';

/**
 * Header paths of the request/response objects pino-http serializes. Every
 * other secret is hidden by name, at any depth, by `redactSecrets` (the one
 * list of secret field names lives with it in @rf/events).
 */
export const REDACT_HEADER_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]',
];

export function buildPinoOptions(
  config: Pick<AppConfig, 'logLevel' | 'prettyLogs' | 'version'>,
): LoggerOptions {
  return {
    level: config.logLevel,
    base: { service: 'restic-fleet-control-plane', version: config.version },
    redact: { paths: [...REDACT_HEADER_PATHS], censor: '[Redacted]' },
    // Runs on every log object before it is serialized: bodies, messages, details of any shape.
    formatters: { log: (object) => redactSecrets(object), bindings: (bindings) => redactSecrets(bindings) },
    // An error's own enumerable fields (a failed request's options, say) are walked too; a string stays one.
    serializers: {
      err: (err: unknown) => redactSecrets(err instanceof Error ? { ...pino.stdSerializers.err(err) } : err),
    },
    ...(config.prettyLogs ? { transport: { target: 'pino-pretty', options: { singleLine: true } } } : {}),
  };
}
