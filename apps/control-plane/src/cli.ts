/**
 * `restic-fleet` command dispatch. Each subcommand is loaded only when run,
 * so `serve` does not pay for the CLIs and a CLI does not boot Nest.
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
  migrate --to URL [--max-events N]       copy the embedded log into EventStoreDB (esdb://…), verify it,
                                          and build the target's read models; resumable
  --help                                  show this help
`;

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
    case 'projections': {
      if (rest[0] !== 'rebuild') return usageError(`unknown projections subcommand "${rest[0] ?? ''}"`);
      const { runProjectionsRebuild } = await import('./cli/projections-rebuild.command');
      return runProjectionsRebuild(rest.slice(1));
    }
    case 'audit': {
      const { runAudit } = await import('./cli/audit.command');
      return runAudit(rest);
    }
    case 'users': {
      const { runUsers } = await import('./cli/users.command');
      return runUsers(rest);
    }
    case 'tokens': {
      const { runTokens } = await import('./cli/tokens.command');
      return runTokens(rest);
    }
    case 'migrate': {
      const { runMigrate } = await import('./cli/migrate.command');
      return runMigrate(rest);
    }
    default:
      return usageError(`unknown command "${command}"`);
  }
}

function usageError(message: string): number {
  process.stderr.write(`restic-fleet: ${message}\n\n${USAGE}`);
  return 2;
}

/**
 * Exits once stdout and stderr have handed everything to the OS: `process.exit()` right after a
 * large write to a pipe drops what a slower reader has not taken yet (e.g. `audit --json | …`).
 */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

runCli(process.argv.slice(2)).then(
  // `serve` resolves only after a graceful shutdown; every command exits with its code.
  (code) => exitAfterFlush(code),
  (err: unknown) => {
    process.stderr.write(
      `restic-fleet: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    exitAfterFlush(1);
  },
);
