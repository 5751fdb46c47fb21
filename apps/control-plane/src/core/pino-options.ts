import type { LoggerOptions } from 'pino';
import type { AppConfig } from './app-config';

/**
 * Paths pino blanks out wherever they appear in a log line: credentials in
 * request headers and any field that looks like a secret, at any depth we log.
 */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...[
    'password',
    'secret',
    'token',
    'agent_secret',
    'credential',
    'passwordEnc',
    'password_enc',
    'authorization',
    'cookie',
  ].flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]),
];

export function buildPinoOptions(
  config: Pick<AppConfig, 'logLevel' | 'prettyLogs' | 'version'>,
): LoggerOptions {
  return {
    level: config.logLevel,
    base: { service: 'restic-fleet-control-plane', version: config.version },
    redact: { paths: [...REDACT_PATHS], censor: '[Redacted]' },
    ...(config.prettyLogs ? { transport: { target: 'pino-pretty', options: { singleLine: true } } } : {}),
  };
}
