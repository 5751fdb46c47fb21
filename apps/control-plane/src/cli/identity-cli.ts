import * as os from 'node:os';
import { createEventStore, type EventStore } from '@rf/event-store';
import { AppConfig, ConfigError } from '../core/app-config';
import type { Actor } from '../core/actor';
import { AuthError } from '../core/auth.errors';
import { IdentityLog } from '../services/identity.log';

/** Output channels of a CLI command, injectable so tests can capture them. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
  env: Readonly<Record<string, string | undefined>>;
}

export const processIo = (): CliIo => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin)
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8');
  },
  env: process.env,
});

/** Who the CLI acts as in event metadata: the OS account that ran it. */
export function cliActor(command: string): Actor {
  let account = 'unknown';
  try {
    account = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): keep "unknown".
  }
  return { kind: 'system', id: 'cli', name: `${command} (${account})` };
}

/** A usage problem the command reports with exit code 2. */
export class UsageError extends Error {}

/** Parses `--flag value` / `--flag=value` / boolean `--flag`; positional args are returned in order. */
export function parseArgs(
  argv: readonly string[],
  spec: { values: readonly string[]; booleans: readonly string[] },
): { positional: string[]; values: Map<string, string>; booleans: Set<string> } {
  const positional: string[] = [];
  const values = new Map<string, string>();
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (spec.booleans.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      booleans.add(name);
    } else if (spec.values.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
      values.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positional, values, booleans };
}

/**
 * Parses the arguments, then runs `work` against the configured event store
 * with the identity state loaded, then closes everything. Maps known errors to exit codes:
 * usage/config 2, rejected input 1.
 */
export async function withIdentity<T>(
  command: string,
  io: CliIo,
  usage: string,
  parse: () => T | Promise<T>,
  work: (identity: IdentityLog, parsed: T) => Promise<number>,
): Promise<number> {
  let store: EventStore | undefined;
  let identity: IdentityLog | undefined;
  try {
    // Arguments first: a usage error must not create or open the data dir.
    const parsed = await parse();
    const config = AppConfig.fromEnv(io.env);
    // The embedded store is in WAL mode, so the CLI can write while `serve` holds the same file.
    store = createEventStore(config.eventStore);
    identity = new IdentityLog(store, config);
    await identity.start();
    return await work(identity, parsed);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`restic-fleet ${command}: ${err.message}\n${usage}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.stderr(`restic-fleet ${command}: invalid configuration: ${err.message}\n`);
      return 2;
    }
    if (err instanceof AuthError) {
      io.stderr(
        `restic-fleet ${command}: ${err.details.field ? `${err.details.field}: ` : ''}${err.message}\n`,
      );
      return 1;
    }
    throw err;
  } finally {
    identity?.stop();
    await store?.close();
  }
}
