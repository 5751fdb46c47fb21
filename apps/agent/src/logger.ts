import pino from 'pino';
import { redactSecrets } from '@rf/events';
import { isBundle } from './build-info';

export type AgentLogger = pino.Logger;

/** Header paths pino blanks out; every other secret is hidden by name, at any depth (`redactSecrets`). */
export const REDACT_PATHS = ['headers.authorization', '*.headers.authorization'];

/** Options shared by every agent logger: base fields and redaction of secrets wherever they appear. */
export function agentLoggerOptions(level: string): pino.LoggerOptions {
  return {
    level,
    base: { service: 'restic-fleet-agent' },
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    formatters: { log: (object) => redactSecrets(object), bindings: (bindings) => redactSecrets(bindings) },
    // An error's own enumerable fields (a failed request's options, say) are walked too; a string stays one.
    serializers: {
      err: (err: unknown) => redactSecrets(err instanceof Error ? { ...pino.stdSerializers.err(err) } : err),
    },
  };
}

/** JSON logs to stdout; human-readable when stdout is a terminal. */
export function createLogger(level = 'info', pretty = process.stdout.isTTY === true): AgentLogger {
  const options = agentLoggerOptions(level);
  // pino-pretty runs in a worker thread that loads files from node_modules: never in the single-file agent.
  if (pretty && !isBundle() && hasPinoPretty()) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(options);
}

function hasPinoPretty(): boolean {
  try {
    require.resolve('pino-pretty');
    return true;
  } catch {
    return false; // a production install without dev dependencies: plain JSON
  }
}
