import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `restic-fleet` command dispatch. Subcommands owned by other areas are loaded
 * lazily so `serve` does not pay for them and a missing one fails clearly.
 */
const USAGE = `Usage: restic-fleet <command> [options]

Commands:
  serve                                   run the control plane (env: RF_LISTEN, RF_DATA_DIR, RF_EVENTSTORE,
                                          RF_SECRET_KEY_FILE, RF_ADMIN_USER, RF_ADMIN_PASSWORD, RF_PUBLIC_URL)
  projections rebuild [--name N]          replay the event log into the read models
  audit [--stream S] [--since T] [--actor A] [--json]
                                          print the audit trail
  users add NAME --role admin|operator|viewer
                                          add a user (asks for the password)
  tokens create --name N --role R         create an API token and print it once
  --help                                  show this help
`;

type CommandFn = (argv: string[]) => Promise<number>;

/** Loads `./cli/<file>` and returns its exported function, or null when that area has not landed yet. */
function loadCommand(file: string, exportName: string): CommandFn | null {
  const full = path.join(__dirname, 'cli', `${file}.js`);
  if (!fs.existsSync(full)) return null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(full) as Record<string, unknown>;
  const fn = mod[exportName];
  return typeof fn === 'function' ? (fn as CommandFn) : null;
}

async function runLoaded(name: string, file: string, exportName: string, argv: string[]): Promise<number> {
  const fn = loadCommand(file, exportName);
  if (!fn) {
    process.stderr.write(`restic-fleet ${name}: not available yet in this build\n`);
    return 2;
  }
  return fn(argv);
}

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    case 'serve': {
      const { runServe } = await import('./main');
      return runServe();
    }
    case 'projections':
      if (rest[0] !== 'rebuild') return usageError(`unknown projections subcommand "${rest[0] ?? ''}"`);
      return runLoaded(
        'projections rebuild',
        'projections-rebuild.command',
        'runProjectionsRebuild',
        rest.slice(1),
      );
    case 'audit':
      return runLoaded('audit', 'audit.command', 'runAudit', rest);
    case 'users':
      return runLoaded('users', 'users.command', 'runUsers', rest);
    case 'tokens':
      return runLoaded('tokens', 'tokens.command', 'runTokens', rest);
    default:
      return usageError(`unknown command "${command}"`);
  }
}

function usageError(message: string): number {
  process.stderr.write(`restic-fleet: ${message}\n\n${USAGE}`);
  return 2;
}

runCli(process.argv.slice(2)).then(
  // `serve` resolves only after a graceful shutdown; every command exits with its code.
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `restic-fleet: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
