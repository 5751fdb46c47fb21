import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { DEFAULT_OUTBOX_MAX_BYTES } from '../repositories/outbox.repository';
import { moveAside, writeFileAtomic } from '../repositories/state-file.repository';

export const CONFIG_SCHEMA_VERSION = 1;

/** The agent's on-disk configuration (`agent.yaml`, mode 0600: it holds the agent secret). */
export interface AgentConfig {
  /** The first control-plane URL (`server:`, or the first of `servers:`). */
  server: string;
  /** Every control-plane URL in order of preference; the agent fails over between them. */
  servers: string[];
  /** Install newer agents the control plane offers (apps/agent/README.md, "Updates"). Default false. */
  auto_update: boolean;
  agent_id: string;
  agent_secret: string;
  /** Where the outbox and schedule state live; see defaultStateDir. */
  state_dir: string;
  heartbeat_interval_s: number;
  outbox_max_bytes: number;
  log_level: string;
  /** Overrides restic discovery (RF_RESTIC_BIN wins over this). */
  restic_bin?: string;
  /** Overall limit per restic run. */
  job_timeout_s: number;
  /** SIGINT → SIGKILL grace when a job is cancelled. */
  cancel_grace_s: number;
  /** Reconnect backoff: first ceiling, cap, and the slow period after a refused credential. */
  reconnect_initial_ms: number;
  reconnect_max_ms: number;
  reconnect_unauthorized_ms: number;
  /** Run schedules' pre/post hooks (as the agent's user, often root). Off unless the host opts in. */
  allow_hooks: boolean;
  /** Accept an http:// control plane that is not on this machine (secrets then cross the network in clear). */
  allow_insecure: boolean;
}

export class ConfigError extends Error {
  readonly code = 'AGENT_CONFIG_INVALID';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export function defaultConfigPath(platform: NodeJS.Platform = process.platform, env = process.env): string {
  if (platform === 'win32') {
    return path.win32.join(env.ProgramData ?? 'C:\\ProgramData', 'restic-fleet', 'agent.yaml');
  }
  return '/etc/restic-fleet/agent.yaml';
}

/**
 * Outbox and schedule state: /var/lib/restic-fleet/agent next to the default
 * /etc config on Linux, else a `state` folder beside the config file (which
 * is %ProgramData%\restic-fleet\state for the default Windows config).
 */
export function defaultStateDir(configPath: string, platform: NodeJS.Platform = process.platform): string {
  if (platform !== 'win32' && path.resolve(configPath) === defaultConfigPath('linux'))
    return '/var/lib/restic-fleet/agent';
  return path.join(path.dirname(path.resolve(configPath)), 'state');
}

/** True for names and addresses that never leave this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Why `server` may not be used, or undefined: plain http:// to another
 * machine would carry the agent secret and repository passwords in clear.
 */
export function insecureServerProblem(server: string, allowInsecure: boolean): string | undefined {
  const u = new URL(server);
  if (u.protocol !== 'http:' || allowInsecure || isLoopbackHost(u.hostname)) return undefined;
  return (
    `${server} uses plain http:// to another machine, so the agent secret and repository passwords ` +
    'would cross the network unencrypted'
  );
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/** Validates a parsed YAML document; errors name the offending field. */
export function parseAgentConfig(raw: unknown, configPath: string): AgentConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('(root)', `${configPath}: expected a YAML mapping`);
  }
  const o = raw as Record<string, unknown>;
  if (o.schema_version !== CONFIG_SCHEMA_VERSION) {
    throw new ConfigError(
      'schema_version',
      `${configPath}: schema_version must be ${CONFIG_SCHEMA_VERSION} (got ${String(o.schema_version)})`,
    );
  }
  const str = (field: string, required: boolean): string | undefined => {
    const v = o[field];
    if (v === undefined || v === null || v === '') {
      if (required) throw new ConfigError(field, `${configPath}: ${field} is required`);
      return undefined;
    }
    if (typeof v !== 'string') throw new ConfigError(field, `${configPath}: ${field} must be a string`);
    return v;
  };
  const num = (field: string, def: number, min: number, max: number): number => {
    const v = o[field];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw new ConfigError(field, `${configPath}: ${field} must be a number between ${min} and ${max}`);
    }
    return v;
  };
  const servers = serverList(o, configPath);
  const bool = (field: string): boolean => {
    const v = o[field];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw new ConfigError(field, `${configPath}: ${field} must be true or false`);
    return v;
  };
  const allowInsecure = bool('allow_insecure');
  for (const server of servers) {
    const insecure = insecureServerProblem(server, allowInsecure);
    if (insecure) {
      throw new ConfigError(
        fieldOfServer(o, server),
        `${configPath}: ${insecure}. Use an https:// URL, or set allow_insecure: true in this file if the network itself is trusted`,
      );
    }
  }
  const logLevel = str('log_level', false) ?? 'info';
  if (!LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(
      'log_level',
      `${configPath}: log_level must be one of ${[...LOG_LEVELS].join(', ')}`,
    );
  }
  const stateDir = str('state_dir', false) ?? defaultStateDir(configPath);
  const autoUpdate = o.auto_update ?? false;
  if (typeof autoUpdate !== 'boolean')
    throw new ConfigError('auto_update', `${configPath}: auto_update must be true or false`);
  return {
    server: servers[0]!,
    servers,
    auto_update: autoUpdate,
    agent_id: str('agent_id', true) as string,
    agent_secret: str('agent_secret', true) as string,
    state_dir: path.resolve(path.dirname(path.resolve(configPath)), stateDir),
    heartbeat_interval_s: num('heartbeat_interval_s', 30, 1, 3600),
    outbox_max_bytes: num('outbox_max_bytes', DEFAULT_OUTBOX_MAX_BYTES, 64 * 1024, 64 * 1024 * 1024 * 1024),
    log_level: logLevel,
    restic_bin: str('restic_bin', false),
    job_timeout_s: num('job_timeout_s', 24 * 3600, 1, 30 * 24 * 3600),
    cancel_grace_s: num('cancel_grace_s', 10, 0, 3600),
    reconnect_initial_ms: num('reconnect_initial_ms', 1000, 1, 3600_000),
    reconnect_max_ms: num('reconnect_max_ms', 60_000, 1, 24 * 3600_000),
    reconnect_unauthorized_ms: num('reconnect_unauthorized_ms', 10 * 60_000, 1, 24 * 3600_000),
    allow_hooks: bool('allow_hooks'),
    allow_insecure: allowInsecure,
  };
}

/** Where a URL of the server list came from: `server`, or `servers.N`. */
function fieldOfServer(o: Record<string, unknown>, url: string): string {
  const same = (v: unknown): boolean => typeof v === 'string' && v.replace(/\/+$/, '') === url;
  if (same(o.server)) return 'server';
  const i = Array.isArray(o.servers) ? o.servers.findIndex(same) : -1;
  return i >= 0 ? `servers.${i}` : 'server';
}

/** `server: URL` and/or `servers: [URL, …]`, in that order, without repeats; each an http(s) URL. */
function serverList(o: Record<string, unknown>, configPath: string): string[] {
  const raw: Array<{ field: string; value: unknown }> = [];
  if (o.server !== undefined && o.server !== null && o.server !== '')
    raw.push({ field: 'server', value: o.server });
  if (o.servers !== undefined && o.servers !== null) {
    if (!Array.isArray(o.servers) || o.servers.length === 0)
      throw new ConfigError('servers', `${configPath}: servers must be a list of control-plane URLs`);
    o.servers.forEach((value, i) => raw.push({ field: `servers.${i}`, value }));
  }
  if (raw.length === 0) throw new ConfigError('server', `${configPath}: server (or servers) is required`);
  const out: string[] = [];
  for (const { field, value } of raw) {
    try {
      if (typeof value !== 'string') throw new Error('not a string');
      const { protocol } = new URL(value);
      if (protocol !== 'http:' && protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new ConfigError(field, `${configPath}: ${field} must be an http(s) URL (got "${String(value)}")`);
    }
    const normal = (value as string).replace(/\/+$/, '');
    if (!out.includes(normal)) out.push(normal);
  }
  return out;
}

/**
 * Reads the config. A file that is not valid YAML is moved aside
 * (`<name>.corrupt-<ts>`) so the operator can inspect it, never silently
 * replaced; a well-formed file with a bad field is left alone and reported.
 */
export function loadAgentConfig(configPath: string): AgentConfig {
  let text: string;
  try {
    text = fs.readFileSync(configPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(
        'config',
        `config file ${configPath} not found; run "restic-fleet-agent enrol --server URL --token T" first`,
      );
    }
    throw err;
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    const movedTo = moveAside(configPath);
    throw new ConfigError(
      'config',
      `config file ${configPath} is not valid YAML (${(err as Error).message.split('\n')[0]}); moved aside to ${movedTo}. Enrol again.`,
    );
  }
  return parseAgentConfig(doc, configPath);
}

export function saveAgentConfig(configPath: string, cfg: AgentConfig): void {
  const doc: Record<string, unknown> = {
    schema_version: CONFIG_SCHEMA_VERSION,
    ...(cfg.servers.length > 1 ? { servers: cfg.servers } : { server: cfg.server }),
    agent_id: cfg.agent_id,
    agent_secret: cfg.agent_secret,
    state_dir: cfg.state_dir,
    heartbeat_interval_s: cfg.heartbeat_interval_s,
    outbox_max_bytes: cfg.outbox_max_bytes,
    log_level: cfg.log_level,
  };
  if (cfg.restic_bin) doc.restic_bin = cfg.restic_bin;
  // Opt-ins are written only when on, so the file shows exactly what this host allows.
  if (cfg.allow_hooks) doc.allow_hooks = true;
  if (cfg.allow_insecure) doc.allow_insecure = true;
  if (cfg.auto_update) doc.auto_update = true;
  const defaults = parseAgentConfig(
    {
      schema_version: CONFIG_SCHEMA_VERSION,
      server: cfg.server,
      agent_id: 'x',
      agent_secret: 'x',
      allow_insecure: cfg.allow_insecure,
    },
    configPath,
  );
  // Tuning knobs are written only when they differ from the defaults, to keep the file short.
  for (const k of [
    'job_timeout_s',
    'cancel_grace_s',
    'reconnect_initial_ms',
    'reconnect_max_ms',
    'reconnect_unauthorized_ms',
  ] as const) {
    if (cfg[k] !== defaults[k]) doc[k] = cfg[k];
  }
  const header = '# restic-fleet agent configuration. Holds the agent secret: keep it mode 0600.\n';
  writeFileAtomic(configPath, header + YAML.stringify(doc), 0o600);
}
