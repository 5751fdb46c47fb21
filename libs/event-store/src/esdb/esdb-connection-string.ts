/**
 * Connection strings for EventStoreDB / KurrentDB.
 *
 * `@eventstore/db-client` v6 understands only `esdb://` and `esdb+discover://`;
 * KurrentDB documents `kurrentdb://` (and `kdb://`) for the same format, so
 * those are rewritten here. Validation happens before the client sees the
 * string because the client's own parser echoes the whole string (credentials
 * included) into error messages and console warnings.
 */

const SCHEMES: Readonly<Record<string, 'esdb' | 'esdb+discover'>> = {
  esdb: 'esdb',
  'esdb+discover': 'esdb+discover',
  kurrentdb: 'esdb',
  'kurrentdb+discover': 'esdb+discover',
  kurrent: 'esdb',
  'kurrent+discover': 'esdb+discover',
  kdb: 'esdb',
  'kdb+discover': 'esdb+discover',
};

/** Query keys the v6 client accepts (compared case-insensitively, ignoring `-` and `_`, as the client does). */
const KNOWN_KEYS: Readonly<Record<string, 'boolean' | 'integer' | 'string' | 'nodePreference'>> = {
  tls: 'boolean',
  tlsverifycert: 'boolean',
  tlscafile: 'string',
  throwonappendfailure: 'boolean',
  connectionname: 'string',
  maxdiscoverattempts: 'integer',
  defaultdeadline: 'integer',
  discoveryinterval: 'integer',
  gossiptimeout: 'integer',
  keepaliveinterval: 'integer',
  keepalivetimeout: 'integer',
  nodepreference: 'nodePreference',
  usercertfile: 'string',
  userkeyfile: 'string',
};

const NODE_PREFERENCES = ['leader', 'follower', 'random', 'readonlyreplica'];

export const ESDB_CONNECTION_STRING_FORMS =
  'esdb://[user:password@]host[:port][,host[:port]…][?key=value&…] (also esdb+discover://, kurrentdb://, kurrentdb+discover://)';

export class EsdbConnectionStringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EsdbConnectionStringError';
  }
}

export interface ParsedEsdbConnectionString {
  /** The string to hand to the client (`esdb://` or `esdb+discover://`). Contains credentials if the input did. */
  readonly clientConnectionString: string;
  /** Safe to log: credentials replaced by `***`. */
  readonly redacted: string;
  readonly discover: boolean;
  readonly hosts: readonly { readonly address: string; readonly port: number }[];
  readonly tls: boolean;
  readonly hasCredentials: boolean;
}

const flat = (key: string): string => key.trim().toLowerCase().replace(/[-_]/g, '');

/** Whether a string looks like an ESDB/KurrentDB connection string (by its scheme). */
export function isEsdbConnectionString(value: string): boolean {
  const m = /^([a-z+]+):\/\//i.exec(value.trim());
  return m !== null && m[1] !== undefined && m[1].toLowerCase() in SCHEMES;
}

/** Replaces the password (and user) of an ESDB connection string with `***`. Never throws. */
export function redactEsdbConnectionString(value: string): string {
  const m = /^([a-z+]*:\/\/)?(.*)$/is.exec(value);
  const scheme = m?.[1] ?? '';
  const rest = m?.[2] ?? value;
  const q = rest.indexOf('?');
  const at = (q >= 0 ? rest.slice(0, q) : rest).lastIndexOf('@');
  return at < 0 ? value : `${scheme}***@${rest.slice(at + 1)}`;
}

/**
 * Parses and validates a connection string. Errors name `field` and never
 * contain the credentials.
 */
export function parseEsdbConnectionString(
  input: string,
  field = 'connectionString',
): ParsedEsdbConnectionString {
  const fail = (why: string): never => {
    throw new EsdbConnectionStringError(
      `${field}: ${why} (got "${redactEsdbConnectionString(input)}"; expected ${ESDB_CONNECTION_STRING_FORMS})`,
    );
  };
  const trimmed = typeof input === 'string' ? input.trim() : '';
  const schemeMatch = /^([a-z+]+):\/\//i.exec(trimmed);
  if (!schemeMatch || schemeMatch[1] === undefined) return fail('missing scheme');
  const target = SCHEMES[schemeMatch[1].toLowerCase()];
  if (!target) return fail(`unsupported scheme "${schemeMatch[1]}"`);
  let rest = trimmed.slice(schemeMatch[0].length).replace(/\/+$/, '');

  let credentials = '';
  const queryStart = rest.indexOf('?');
  const at = (queryStart >= 0 ? rest.slice(0, queryStart) : rest).lastIndexOf('@');
  if (at >= 0) {
    credentials = rest.slice(0, at);
    const colon = credentials.indexOf(':');
    if (colon <= 0 || colon === credentials.length - 1) return fail('credentials must be user:password');
    if (/[@:]/.test(credentials.slice(colon + 1))) {
      return fail('the password must be URL-encoded (":" as %3A, "@" as %40)');
    }
    rest = rest.slice(at + 1);
  }

  const q = rest.indexOf('?');
  const hostPart = (q >= 0 ? rest.slice(0, q) : rest).replace(/\/+$/, '');
  const query = q >= 0 ? rest.slice(q + 1) : '';
  if (hostPart === '') return fail('no host');
  const hosts = hostPart.split(',').map((h) => {
    const parts = h.trim().split(':');
    const address = parts[0] ?? '';
    if (parts.length > 2 || address === '' || /[$+!?*'(),;[\]{}|"%~#<>=&/\s]/.test(address)) {
      return fail(`invalid host "${h}"`);
    }
    const rawPort = parts[1] ?? '2113';
    if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) < 1 || Number(rawPort) > 65535) {
      return fail(`invalid port "${rawPort}"`);
    }
    return { address, port: Number(rawPort) };
  });

  let tls = true;
  const keptParams: string[] = [];
  if (query !== '') {
    for (const pair of query.split('&')) {
      const eq = pair.indexOf('=');
      if (eq <= 0 || eq === pair.length - 1) return fail(`query parameter "${pair}" must be key=value`);
      const key = pair.slice(0, eq);
      const value = pair.slice(eq + 1).trim();
      const kind = KNOWN_KEYS[flat(key)];
      if (!kind) return fail(`unknown option "${key}"`);
      if (kind === 'boolean' && value !== 'true' && value !== 'false')
        return fail(`${key} must be true or false`);
      if (kind === 'integer' && !/^\d+$/.test(value)) return fail(`${key} must be an integer`);
      if (kind === 'nodePreference' && !NODE_PREFERENCES.includes(flat(value))) {
        return fail(`${key} must be one of leader, follower, random, read_only_replica`);
      }
      if (flat(key) === 'tlsverifycert' && value === 'false') {
        // The v6 client ignores it and prints the whole string as a warning.
        return fail('tlsVerifyCert=false is not supported by this client; pass tlsCAFile instead');
      }
      if (flat(key) === 'throwonappendfailure' && value === 'false') {
        return fail(
          'throwOnAppendFailure=false is not supported; the adapter relies on append failures being thrown',
        );
      }
      if (flat(key) === 'tls') tls = value === 'true';
      keptParams.push(`${key}=${value}`);
    }
  }

  const auth = credentials === '' ? '' : `${credentials}@`;
  const hostList = hosts.map((h) => `${h.address}:${h.port}`).join(',');
  const queryString = keptParams.length > 0 ? `?${keptParams.join('&')}` : '';
  const clientConnectionString = `${target}://${auth}${hostList}${queryString}`;
  return {
    clientConnectionString,
    redacted: redactEsdbConnectionString(clientConnectionString),
    discover: target === 'esdb+discover',
    hosts,
    tls,
    hasCredentials: credentials !== '',
  };
}
