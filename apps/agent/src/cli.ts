import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import {
  AgentConfig,
  ConfigError,
  defaultConfigPath,
  insecureServerProblem,
  loadAgentConfig,
  parseAgentConfig,
  saveAgentConfig,
  CONFIG_SCHEMA_VERSION,
} from './config/agent-config';
import { bundledUnitTemplate, isBundle } from './build-info';
import { createLogger } from './logger';
import { AgentSupervisor, type ParentChannel } from './services/agent-supervisor.service';
import { agentVersion, wireArch, wireOs } from './services/host-facts';
import { TRIAL_ENV } from './repositories/trial-agent.repository';
import {
  CONFIG_PATH_ENV,
  installSystemdService,
  uninstallSystemdService,
  windowsService,
} from './services/service-installer.service';
import { onStopRequest } from './services/stop-requests';

const HELP = `restic-fleet-agent ${agentVersion()} — runs restic for a restic-fleet control plane

Usage:
  restic-fleet-agent enrol --server URL --token TOKEN [--config PATH] [--allow-insecure]
      Register this host with the control plane using a one-time enrolment
      token (create one in the UI), and write the config file (mode 0600).
      An http:// URL to another machine is refused (secrets would travel in
      clear) unless --allow-insecure is given.
      The token may come from RF_ENROL_TOKEN instead of --token.
  restic-fleet-agent run [--config PATH]
      Connect to the control plane and run jobs and schedules (the daemon).
  restic-fleet-agent service install [--config PATH] [--root DIR]
  restic-fleet-agent service uninstall [--root DIR]
      Install or remove the system service (systemd on Linux, a Windows
      service through node-windows on Windows).
  restic-fleet-agent --help | --version

Options:
  --config PATH   config file (default: $${CONFIG_PATH_ENV}, else ${defaultConfigPath()})
  --root DIR      install the systemd unit under DIR instead of / (packaging, tests)

Environment:
  RF_RESTIC_BIN     the restic binary to use (default: found on PATH)
  RF_ENROL_TOKEN    the enrolment token for "enrol" (keeps it out of the process list)
  RF_AGENT_CONFIG   the config file when --config is not given (the Windows service uses it)
`;

class UsageError extends Error {}

interface Parsed {
  positionals: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(['--server', '--token', '--config', '--root']);
const BOOL_FLAGS = new Set(['--help', '-h', '--version', '--allow-insecure']);

function parseArgv(argv: string[]): Parsed {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('-')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(0, eq) : a;
      if (VALUE_FLAGS.has(name)) {
        const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
        flags.set(name, value);
      } else if (BOOL_FLAGS.has(name)) {
        flags.set(name, true);
      } else {
        throw new UsageError(`unknown option ${name}`);
      }
    } else {
      positionals.push(a);
    }
  }
  return { positionals, flags };
}

function str(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** --config, else RF_AGENT_CONFIG (how the Windows service passes a path that may hold spaces), else the default. */
function configPathOf(p: Parsed): string {
  return path.resolve(str(p, '--config') ?? (process.env[CONFIG_PATH_ENV] || defaultConfigPath()));
}

async function enrol(p: Parsed): Promise<void> {
  const server = str(p, '--server');
  const token = str(p, '--token') ?? (process.env.RF_ENROL_TOKEN || undefined);
  if (!server) throw new UsageError('enrol: --server URL is required');
  if (!token) throw new UsageError('enrol: --token TOKEN is required (create an enrolment token in the UI)');
  let base: URL;
  try {
    base = new URL(server);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(`enrol: --server must be an http(s) URL (got "${server}")`);
  }
  const serverUrl = base.toString().replace(/\/+$/, '');
  const allowInsecure = p.flags.has('--allow-insecure');
  // Checked before anything is sent: the enrolment token itself would travel in clear.
  const insecure = insecureServerProblem(serverUrl, allowInsecure);
  if (insecure) {
    throw new Error(
      `enrol: ${insecure}. Use an https:// URL, or add --allow-insecure if the network itself is trusted.`,
    );
  }
  const configPath = configPathOf(p);
  const body = { token, hostname: os.hostname(), os: wireOs(), arch: wireArch() };
  let res: Response;
  try {
    res = await fetch(`${serverUrl}/api/agents/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new Error(
      `cannot reach the control plane at ${serverUrl} (${why}). Check --server and that it is running.`,
    );
  }
  const text = await res.text();
  if (res.status === 401 || res.status === 403 || res.status === 404 || res.status === 410) {
    throw new Error(
      `the control plane rejected the enrolment token (HTTP ${res.status}): it is wrong, already used or expired. Create a new token in the UI and run enrol again.`,
    );
  }
  if (!res.ok) {
    throw new Error(`enrolment failed: HTTP ${res.status} from ${serverUrl}: ${serverMessage(text)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`enrolment failed: the control plane answered with something that is not JSON`);
  }
  const o = (doc ?? {}) as Record<string, unknown>;
  if (
    typeof o.agent_id !== 'string' ||
    typeof o.agent_secret !== 'string' ||
    !o.agent_id ||
    !o.agent_secret
  ) {
    throw new Error('enrolment failed: the answer lacks agent_id / agent_secret');
  }
  const cfg: AgentConfig = parseAgentConfig(
    {
      schema_version: CONFIG_SCHEMA_VERSION,
      server: serverUrl,
      agent_id: o.agent_id,
      agent_secret: o.agent_secret,
      allow_insecure: allowInsecure,
    },
    configPath,
  );
  saveAgentConfig(configPath, cfg);
  process.stdout.write(
    `enrolled as agent ${cfg.agent_id}; wrote ${configPath} (mode 0600).\n` +
      `Start it with: restic-fleet-agent run --config ${configPath}   (or: restic-fleet-agent service install)\n`,
  );
}

function serverMessage(text: string): string {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o.message === 'string') return o.message;
  } catch {
    // not JSON: show the start of the text
  }
  return text.slice(0, 200);
}

async function run(p: Parsed): Promise<void> {
  // The daemon mostly waits on restic and the network. V8's optimizing compilers
  // would page in ~5 MB of their own code for no measurable gain (apps/agent/README.md, "Memory").
  v8.setFlagsFromString('--no-turbofan');
  v8.setFlagsFromString('--no-maglev');
  const configPath = configPathOf(p);
  const cfg = loadAgentConfig(configPath);
  const logger = createLogger(cfg.log_level);
  logger.info({ config: configPath, agent_id: cfg.agent_id, version: agentVersion() }, 'agent: starting');
  const supervisor = new AgentSupervisor({
    configPath,
    config: cfg,
    logger,
    agentFile: isBundle() ? __filename : undefined,
    serviceManager: process.env.RF_AGENT_SUPERVISOR || undefined,
    parent: parentChannel(),
    exit: (code) => process.exit(code),
  });
  onStopRequest(process, (reason) => supervisor.stop(reason));
  await supervisor.start();
}

/** The IPC channel to an updating agent that started this one as a trial (see apps/agent/README.md). */
function parentChannel(): ParentChannel | undefined {
  const send = process.send?.bind(process);
  if (process.env[TRIAL_ENV] !== '1' || !send) return undefined;
  return {
    send: (m) => void send(m),
    onMessage: (cb) => void process.on('message', cb),
    onDisconnect: (cb) => void process.once('disconnect', cb),
  };
}

async function service(p: Parsed): Promise<void> {
  const action = p.positionals[1];
  if (action !== 'install' && action !== 'uninstall')
    throw new UsageError('service: use "service install" or "service uninstall"');
  // The single-file agent installs itself; a checkout installs its bin/ wrapper.
  const agentBin = isBundle()
    ? __filename
    : path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'restic-fleet-agent.js');
  const configPath = configPathOf(p);
  const print = (line: string): void => void process.stdout.write(line + '\n');
  if (process.platform === 'win32') {
    // Fail early on install: a service without an enrolled config only restarts in a loop.
    const cancelGraceS = action === 'install' ? loadAgentConfig(configPath).cancel_grace_s : 0;
    await windowsService(action, { agentBin, configPath, cancelGraceS, print });
    return;
  }
  const root = path.resolve(str(p, '--root') ?? '/');
  const runCmd = (cmd: string, args: string[]): { status: number | null; output: string } => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return {
      status: r.error ? -1 : r.status,
      output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}`,
    };
  };
  const systemdPresent = root === '/' ? undefined : false;
  if (action === 'install') {
    if (root === '/') loadAgentConfig(configPath); // fail early: a service without an enrolled config only crash-loops
    const template = bundledUnitTemplate();
    installSystemdService({
      root,
      nodePath: process.execPath,
      agentBin,
      configPath,
      run: runCmd,
      print,
      systemdPresent,
      ...(template !== undefined ? { template } : {}),
    });
  } else {
    uninstallSystemdService({ root, run: runCmd, print, systemdPresent });
  }
}

export async function main(argv: string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parseArgv(argv);
  } catch (err) {
    process.stderr.write(`restic-fleet-agent: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (p.flags.has('--help') || p.flags.has('-h') || p.positionals[0] === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (p.flags.has('--version')) {
    process.stdout.write(`${agentVersion()}\n`);
    return 0;
  }
  try {
    switch (p.positionals[0]) {
      case 'enrol':
      case 'enroll':
        await enrol(p);
        return 0;
      case 'run':
        await run(p);
        return -1; // keeps running
      case 'service':
        await service(p);
        return 0;
      case undefined:
        process.stderr.write(HELP);
        return 2;
      default:
        throw new UsageError(`unknown command "${p.positionals[0]}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`restic-fleet-agent: ${err.message}\n\n${HELP}`);
      return 2;
    }
    const field = err instanceof ConfigError ? ` [${err.field}]` : '';
    process.stderr.write(`restic-fleet-agent: ${(err as Error).message}${field}\n`);
    return 1;
  }
}

if (require.main === module || process.argv[1]?.endsWith('restic-fleet-agent.js')) {
  void main(process.argv.slice(2)).then((code) => {
    if (code >= 0) process.exitCode = code;
  });
}
