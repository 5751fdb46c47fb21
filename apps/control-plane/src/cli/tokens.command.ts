import { ApiTokensService } from '../services/api-tokens.service';
import { isRole } from '../core/actor';
import { AuthSettings } from '../core/auth.settings';
import { cliActor, parseArgs, processIo, UsageError, withIdentity, type CliIo } from './identity-cli';

const USAGE = `Usage: restic-fleet tokens create --name N --role admin|operator|viewer [--expires-in-days D]
  Prints the API token (rf_…) once on stdout; only its hash is stored. It expires after
  D days (default 365, at most 3650).
`;

/** `restic-fleet tokens create …`; writes ApiTokenCreated straight to the event store. */
export async function runTokens(argv: string[], io: CliIo = processIo()): Promise<number> {
  const parse = () => {
    const [sub, ...rest] = argv;
    if (sub !== 'create')
      throw new UsageError(sub === undefined ? 'missing subcommand' : `unknown subcommand "${sub}"`);
    const args = parseArgs(rest, { values: ['name', 'role', 'expires-in-days'], booleans: [] });
    if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"`);
    const name = args.values.get('name');
    if (name === undefined) throw new UsageError('--name is required');
    const role = args.values.get('role');
    if (role === undefined) throw new UsageError('--role is required');
    if (!isRole(role)) throw new UsageError(`--role must be admin, operator or viewer, got "${role}"`);
    const daysRaw = args.values.get('expires-in-days');
    if (daysRaw !== undefined && !/^\d+$/.test(daysRaw)) {
      throw new UsageError(`--expires-in-days must be a whole number, got "${daysRaw}"`);
    }
    return { name, role, ...(daysRaw === undefined ? {} : { expiresInDays: Number(daysRaw) }) };
  };
  return withIdentity('tokens', io, USAGE, parse, async (identity, input) => {
    const tokens = new ApiTokensService(identity, new AuthSettings());
    const created = await tokens.create(input, cliActor('tokens create'));
    // The token alone on stdout so scripts can capture it; the description goes to stderr.
    io.stderr(
      `created API token "${created.name}" (role ${created.role}, id ${created.id}, expires ${created.expires_at ?? 'never'}); it is shown only once\n`,
    );
    io.stdout(`${created.token}\n`);
    return 0;
  });
}
