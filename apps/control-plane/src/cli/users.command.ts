import { isRole } from '../core/actor';
import { cliActor, parseArgs, processIo, UsageError, withIdentity, type CliIo } from './identity-cli';
import { PasswordHasher } from '../repositories/password.hasher';
import { randomPassword } from '../core/secret-tokens';
import { UsersService } from '../services/users.service';

const USAGE = `Usage: restic-fleet users add NAME --role admin|operator|viewer [--password-stdin]
  Without --password-stdin a random password is generated and printed once.
`;

/** `restic-fleet users add …`; writes UserCreated straight to the event store, so it works while `serve` runs. */
export async function runUsers(argv: string[], io: CliIo = processIo()): Promise<number> {
  const parse = async () => {
    const [sub, ...rest] = argv;
    if (sub !== 'add')
      throw new UsageError(sub === undefined ? 'missing subcommand' : `unknown subcommand "${sub}"`);
    const args = parseArgs(rest, { values: ['role'], booleans: ['password-stdin'] });
    const [name, ...extra] = args.positional;
    if (name === undefined) throw new UsageError('missing NAME');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const role = args.values.get('role');
    if (role === undefined) throw new UsageError('--role is required');
    if (!isRole(role)) throw new UsageError(`--role must be admin, operator or viewer, got "${role}"`);
    const fromStdin = args.booleans.has('password-stdin');
    // Only the line terminator is dropped: the password is otherwise taken verbatim.
    const password = fromStdin ? (await io.readStdin()).replace(/\r?\n$/, '') : randomPassword();
    return { name, role, fromStdin, password };
  };
  return withIdentity('users', io, USAGE, parse, async (identity, { name, role, fromStdin, password }) => {
    const users = new UsersService(identity, new PasswordHasher());
    const user = await users.create(name, role, password, cliActor('users add'));
    io.stdout(`created user ${user.username} (role ${user.role}, id ${user.id})\n`);
    if (!fromStdin) io.stdout(`password: ${password}\n(shown only once)\n`);
    return 0;
  });
}
