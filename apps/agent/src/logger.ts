import pino from 'pino';
import { isBundle } from './build-info';

export type AgentLogger = pino.Logger;

/** Paths that may carry secrets anywhere in a log object; pino replaces them. */
export const REDACT_PATHS = [
  'agent_secret',
  'password',
  'credential',
  'token',
  'authorization',
  'headers.authorization',
  '*.agent_secret',
  '*.password',
  '*.credential',
  '*.token',
  '*.authorization',
  '*.repo_password',
  'repo_password',
  'env.RESTIC_PASSWORD',
];

/** JSON logs to stdout; human-readable when stdout is a terminal. */
export function createLogger(level = 'info', pretty = process.stdout.isTTY === true): AgentLogger {
  const base = { service: 'restic-fleet-agent' };
  const redact = { paths: REDACT_PATHS, censor: '[redacted]' };
  // pino-pretty runs in a worker thread that loads files from node_modules: never in the single-file agent.
  if (pretty && !isBundle() && hasPinoPretty()) {
    return pino({ level, base, redact, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino({ level, base, redact });
}

function hasPinoPretty(): boolean {
  try {
    require.resolve('pino-pretty');
    return true;
  } catch {
    return false; // a production install without dev dependencies: plain JSON
  }
}
