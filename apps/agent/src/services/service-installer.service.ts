import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../repositories/state-file.repository';

export const UNIT_NAME = 'restic-fleet-agent.service';

export interface UnitParams {
  nodePath: string;
  agentBin: string;
  configPath: string;
}

/** Locates deploy/systemd/restic-fleet-agent.service from the source tree or dist/. */
export function findUnitTemplate(start = __dirname): string {
  let dir = start;
  for (let i = 0; i < 8; i++) {
    const p = path.join(dir, 'deploy', 'systemd', UNIT_NAME);
    if (fs.existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find deploy/systemd/${UNIT_NAME} above ${start}; reinstall restic-fleet`);
}

function quoteArg(p: string): string {
  // systemd splits ExecStart on whitespace; quote paths that need it.
  return /[\s"\\]/.test(p) ? `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : p;
}

/** Fills the unit template; the comment header of the template is kept. */
export function renderSystemdUnit(template: string, p: UnitParams): string {
  for (const [k, v] of Object.entries({
    nodePath: p.nodePath,
    agentBin: p.agentBin,
    configPath: p.configPath,
  })) {
    if (!path.isAbsolute(v)) throw new Error(`service install: ${k} must be an absolute path (got "${v}")`);
  }
  return template
    .replace(/@NODE@/g, quoteArg(p.nodePath))
    .replace(/@AGENT_BIN@/g, quoteArg(p.agentBin))
    .replace(/@CONFIG@/g, quoteArg(p.configPath));
}

export interface CommandRunner {
  (cmd: string, args: string[]): { status: number | null; output: string };
}

export interface InstallOptions extends UnitParams {
  /** Filesystem root to install into (tests use a temp dir); default "/". */
  root: string;
  template?: string;
  run: CommandRunner;
  /** Whether systemd is managing this machine; default: /run/systemd/system exists under root. */
  systemdPresent?: boolean;
  print: (line: string) => void;
}

function systemdRunning(root: string): boolean {
  return fs.existsSync(path.join(root, 'run', 'systemd', 'system'));
}

export function unitPath(root: string): string {
  return path.join(root, 'etc', 'systemd', 'system', UNIT_NAME);
}

/** Writes the unit and, where systemd runs, reloads and enables it. Returns the unit path. */
export function installSystemdService(o: InstallOptions): string {
  const template = o.template ?? fs.readFileSync(findUnitTemplate(), 'utf8');
  const unit = renderSystemdUnit(template, o);
  const target = unitPath(o.root);
  writeFileAtomic(target, unit, 0o644);
  o.print(`wrote ${target}`);
  const present = o.systemdPresent ?? systemdRunning(o.root);
  if (!present) {
    o.print('systemd is not running on this machine; the unit was written but not enabled. Its content:');
    o.print(unit);
    return target;
  }
  // restart, not start: installing again (a newer agent file) must replace the running agent.
  for (const args of [['daemon-reload'], ['enable', UNIT_NAME], ['restart', UNIT_NAME]]) {
    const r = o.run('systemctl', args);
    if (r.status !== 0)
      throw new Error(`systemctl ${args.join(' ')} failed (${r.status}): ${r.output.trim()}`);
  }
  o.print(`enabled and (re)started ${UNIT_NAME}`);
  return target;
}

export function uninstallSystemdService(o: Omit<InstallOptions, keyof UnitParams | 'template'>): void {
  const target = unitPath(o.root);
  const present = o.systemdPresent ?? systemdRunning(o.root);
  if (present) {
    const r = o.run('systemctl', ['disable', '--now', UNIT_NAME]);
    if (r.status !== 0) o.print(`systemctl disable --now ${UNIT_NAME}: ${r.output.trim()} (continuing)`);
  }
  if (fs.existsSync(target)) {
    fs.unlinkSync(target);
    o.print(`removed ${target}`);
  } else {
    o.print(`${target} was not installed`);
  }
  if (present) o.run('systemctl', ['daemon-reload']);
}

/** Windows: node-windows is an optional dependency, loaded only here. */
export interface WindowsServiceOptions {
  agentBin: string;
  configPath: string;
  /** The agent's cancel grace; the service manager must wait longer than the agent's own stop. */
  cancelGraceS: number;
  print: (line: string) => void;
}

/** The environment variable that carries the config path to the service (see windowsServiceConfig). */
export const CONFIG_PATH_ENV = 'RF_AGENT_CONFIG';

interface NodeWindowsService {
  on(event: string, cb: (arg?: unknown) => void): void;
  install(): void;
  uninstall(): void;
  start(): void;
}

/**
 * What node-windows is told. Two of its habits shape this:
 * - its wrapper splits `scriptOptions` on spaces (and keeps quotes as
 *   characters), so a config path never goes there: it travels in the
 *   service's environment (`RF_AGENT_CONFIG`), where WinSW keeps it whole;
 * - on stop, with `stopparentfirst`, WinSW sends Ctrl+C to the wrapper, the
 *   wrapper sends the agent a `shutdown` message and waits for it to exit;
 *   WinSW kills only after `stoptimeout`. The agent then cancels its jobs
 *   (restic gets Ctrl+C and removes its lock), so the timeout must outlast
 *   the agent's own shutdown (cancel grace + 20 s).
 */
export function windowsServiceConfig(o: Omit<WindowsServiceOptions, 'print'>): Record<string, unknown> {
  return {
    name: 'restic-fleet-agent',
    description: 'restic-fleet agent (runs restic for the control plane)',
    script: o.agentBin,
    scriptOptions: 'run',
    env: [
      { name: CONFIG_PATH_ENV, value: o.configPath },
      // The wrapper restarts the agent when it exits; updates rely on that (apps/agent/README.md).
      { name: 'RF_AGENT_SUPERVISOR', value: 'windows' },
    ],
    stopparentfirst: true,
    stoptimeout: o.cancelGraceS + 30,
  };
}

function loadNodeWindows(): { Service: new (o: Record<string, unknown>) => NodeWindowsService } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional dependency, loaded only on Windows
    return require('node-windows') as { Service: new (o: Record<string, unknown>) => NodeWindowsService };
  } catch {
    throw new Error('node-windows is not installed; run "npm i node-windows" in the agent install directory');
  }
}

export function windowsService(action: 'install' | 'uninstall', o: WindowsServiceOptions): Promise<void> {
  const { Service } = loadNodeWindows();
  const svc = new Service(windowsServiceConfig(o));
  return new Promise((resolve, reject) => {
    svc.on('error', (e) => reject(e instanceof Error ? e : new Error(String(e))));
    if (action === 'install') {
      svc.on('install', () => {
        o.print('installed Windows service restic-fleet-agent; starting it');
        svc.start();
        resolve();
      });
      svc.on('alreadyinstalled', () => {
        o.print('the Windows service restic-fleet-agent is already installed');
        resolve();
      });
      svc.install();
    } else {
      svc.on('uninstall', () => {
        o.print('removed Windows service restic-fleet-agent');
        resolve();
      });
      svc.on('alreadyuninstalled', () => {
        o.print('the Windows service restic-fleet-agent was not installed');
        resolve();
      });
      svc.uninstall();
    }
  });
}
