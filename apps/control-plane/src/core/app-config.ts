import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventStoreConfigError, parseEventStoreConfig, type EventStoreConfig } from '@rf/event-store';

/** A bad environment variable, named, so `serve` fails fast with a clear message. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_LISTEN = '127.0.0.1:8080';

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw.trim());
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function parseListen(raw: string): { host: string; port: number } {
  // Accept "host:port", "[v6]:port" and a bare ":port" / "port".
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw) ?? /^()()(\d{1,5})$/.exec(raw);
  if (!m)
    throw new ConfigError('RF_LISTEN', `must look like host:port (e.g. ${DEFAULT_LISTEN}), got "${raw}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError('RF_LISTEN', `port must be 0..65535, got ${port}`);
  const host = m[1] ?? (m[2] === '' || m[2] === undefined ? '127.0.0.1' : m[2]);
  return { host, port };
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * RF_TRUSTED_PROXIES: the reverse proxies whose X-Forwarded-For names the
 * real client (Express `trust proxy`): addresses, subnets (`10.0.0.0/8`) or
 * loopback / linklocal / uniquelocal, separated by commas. Empty: no proxy is
 * trusted and the peer address is the client. "Trust everyone" is refused,
 * since any client could then pick the address it is rate limited as.
 */
function parseTrustedProxies(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  const entries = raw
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const entry of entries) {
    if (PROXY_NAMES.has(entry)) continue;
    const [addr, prefix, extra] = entry.split('/');
    const family = net.isIP(addr ?? '');
    const prefixOk =
      prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new ConfigError(
        'RF_TRUSTED_PROXIES',
        `"${entry}" is not an IP address, a subnet (10.0.0.0/8) or one of loopback, linklocal, uniquelocal`,
      );
    }
    if (prefix === '0') {
      throw new ConfigError(
        'RF_TRUSTED_PROXIES',
        `"${entry}" would trust every address, so any client could choose its own address; name your proxies`,
      );
    }
  }
  return entries;
}

/** The events library owns the RF_EVENTSTORE grammar; we only turn its error into ours. */
function readEventStore(env: Env, dataDir: string): EventStoreConfig {
  try {
    return parseEventStoreConfig({ ...env, RF_DATA_DIR: dataDir });
  } catch (err) {
    if (err instanceof EventStoreConfigError)
      throw new ConfigError(err.variable, err.message.replace(/^RF_\w+: /, ''));
    throw err;
  }
}

function parsePublicUrl(raw: string | undefined, host: string, port: number): string {
  if (raw === undefined || raw.trim() === '') {
    const h = host.includes(':') ? `[${host}]` : host;
    return `http://${h}:${port}`;
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError('RF_PUBLIC_URL', `must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('RF_PUBLIC_URL', `must use http or https, got "${url.protocol}"`);
  }
  return url.toString().replace(/\/$/, '');
}

/**
 * The control plane's configuration, read and validated once at boot from the
 * environment (docs/architecture.md, "External contract"). Provided to Nest as a value; CLIs call `fromEnv`.
 */
export class AppConfig {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly dataDir: string;
  readonly eventStore: EventStoreConfig;
  readonly readModelsPath: string;
  readonly secretKeyFile: string;
  readonly adminUser: string | undefined;
  readonly adminPassword: string | undefined;
  readonly publicUrl: string;
  /** Reverse proxies whose X-Forwarded-For is believed (Express `trust proxy`); empty: none. */
  readonly trustedProxies: readonly string[];
  readonly heartbeatIntervalS: number;
  readonly jobLostGraceS: number;
  readonly logRetentionDays: number;
  readonly maxMessageBytes: number;
  readonly projectionLagBoundMs: number;
  readonly logLevel: string;
  readonly prettyLogs: boolean;
  readonly version: string;
  /**
   * This node's id (RF_NODE_ID; default the hostname and a digest of the data
   * directory, so it is stable per data directory and two nodes on one machine
   * differ): named on AgentConnected/AgentDisconnected, the `node-{id}` lease
   * stream and the `node` label on every metric (docs/architecture.md, "Several nodes").
   */
  readonly nodeId: string;
  /** How long this node's lease lasts unless renewed (RF_NODE_LEASE_S); renewed every third of it. */
  readonly nodeLeaseS: number;
  /** How often the alert rules look at the clock (RF_ALERTS_EVALUATE_MS; docs/alerts.md, "How the rules run"). */
  readonly alertsEvaluateMs: number;
  /** The first retry delay of a failed notification, doubling per attempt (RF_NOTIFY_RETRY_BASE_MS; docs/alerts.md, "Delivery"). */
  readonly notifyRetryBaseMs: number;

  private constructor(fields: Omit<AppConfig, never>) {
    this.listenHost = fields.listenHost;
    this.listenPort = fields.listenPort;
    this.dataDir = fields.dataDir;
    this.eventStore = fields.eventStore;
    this.readModelsPath = fields.readModelsPath;
    this.secretKeyFile = fields.secretKeyFile;
    this.adminUser = fields.adminUser;
    this.adminPassword = fields.adminPassword;
    this.publicUrl = fields.publicUrl;
    this.trustedProxies = fields.trustedProxies;
    this.heartbeatIntervalS = fields.heartbeatIntervalS;
    this.jobLostGraceS = fields.jobLostGraceS;
    this.logRetentionDays = fields.logRetentionDays;
    this.maxMessageBytes = fields.maxMessageBytes;
    this.projectionLagBoundMs = fields.projectionLagBoundMs;
    this.logLevel = fields.logLevel;
    this.prettyLogs = fields.prettyLogs;
    this.version = fields.version;
    this.nodeId = fields.nodeId;
    this.nodeLeaseS = fields.nodeLeaseS;
    this.alertsEvaluateMs = fields.alertsEvaluateMs;
    this.notifyRetryBaseMs = fields.notifyRetryBaseMs;
  }

  /** Validates every variable; throws `ConfigError` naming the first bad one. */
  static fromEnv(env: Env = process.env): AppConfig {
    const listen = parseListen((env.RF_LISTEN ?? DEFAULT_LISTEN).trim() || DEFAULT_LISTEN);
    const dataDir = path.resolve((env.RF_DATA_DIR ?? '').trim() || './data');
    const secretKeyFile = path.resolve(
      (env.RF_SECRET_KEY_FILE ?? '').trim() || path.join(dataDir, 'secret.key'),
    );
    const adminUser = env.RF_ADMIN_USER?.trim() || undefined;
    const adminPassword = env.RF_ADMIN_PASSWORD || undefined;
    if (adminPassword !== undefined && adminUser === undefined) {
      throw new ConfigError('RF_ADMIN_USER', 'must be set when RF_ADMIN_PASSWORD is set');
    }
    if (adminUser !== undefined && !/^[A-Za-z0-9._@-]{1,64}$/.test(adminUser)) {
      throw new ConfigError('RF_ADMIN_USER', 'may contain only letters, digits and . _ @ - (1..64 chars)');
    }
    const logLevel = (env.RF_LOG_LEVEL ?? '').trim() || 'info';
    if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
      throw new ConfigError(
        'RF_LOG_LEVEL',
        `must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`,
      );
    }
    return new AppConfig({
      listenHost: listen.host,
      listenPort: listen.port,
      dataDir,
      eventStore: readEventStore(env, dataDir),
      readModelsPath: path.join(dataDir, 'readmodels.db'),
      secretKeyFile,
      adminUser,
      adminPassword,
      publicUrl: parsePublicUrl(env.RF_PUBLIC_URL, listen.host, listen.port),
      trustedProxies: parseTrustedProxies(env.RF_TRUSTED_PROXIES),
      heartbeatIntervalS: readInt(env, 'RF_HEARTBEAT_INTERVAL_S', 30, 1, 3600),
      jobLostGraceS: readInt(env, 'RF_JOB_LOST_GRACE_S', 600, 1, 7 * 86400),
      logRetentionDays: readInt(env, 'RF_LOG_RETENTION_DAYS', 90, 1, 36500),
      maxMessageBytes: readInt(env, 'RF_MAX_MESSAGE_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024),
      projectionLagBoundMs: readInt(env, 'RF_PROJECTION_LAG_BOUND_MS', 5000, 1, 3_600_000),
      logLevel,
      prettyLogs: env.RF_LOG_PRETTY === '1',
      version: readPackageVersion(),
      nodeId: readNodeId(env, dataDir),
      nodeLeaseS: readInt(env, 'RF_NODE_LEASE_S', 30, 3, 3600),
      alertsEvaluateMs: readInt(env, 'RF_ALERTS_EVALUATE_MS', 30_000, 100, 3_600_000),
      notifyRetryBaseMs: readInt(env, 'RF_NOTIFY_RETRY_BASE_MS', 30_000, 100, 3_600_000),
    });
  }
}

function readNodeId(env: Env, dataDir: string): string {
  const raw = env.RF_NODE_ID?.trim();
  if (raw === undefined || raw === '') return defaultNodeId(os.hostname(), dataDir);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(raw))
    throw new ConfigError(
      'RF_NODE_ID',
      `may contain only letters, digits and . _ - (1..64 chars), got "${raw}"`,
    );
  return raw;
}

/** `{hostname}-{8 hex of the data directory's digest}`: stable per data directory, distinct per directory. */
export function defaultNodeId(hostname: string, dataDir: string): string {
  const host = hostname.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 55) || 'node';
  return `${host}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
}

function readPackageVersion(): string {
  try {
    // Resolved relative to the compiled file so it works from dist/ and from an installed package.
    const pkg = JSON.parse(fs.readFileSync(path.join(findRepoRoot(), 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function findRepoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}
