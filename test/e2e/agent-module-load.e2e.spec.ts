/**
 * The agent process needs only the catalog and wire protocol (@rf/events) and
 * @rf/restic: started with `--help` and with `run` (connected to a scripted
 * control plane, then stopped), it loads neither the SQLite driver, the
 * EventStoreDB client nor any Nest package. Every module the process resolves
 * is recorded by a `--require` preload (test/support/module-load.recorder.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot, ScriptedServer, tempDir, waitUntil, writeAgentConfig } from './agent-scripted-server';

const TIMEOUT = 60_000;
const FORBIDDEN = /\/node_modules\/(better-sqlite3|@eventstore\/db-client|@nestjs\/[^/]+)\//;

const recorder = (): string => path.join(repoRoot(), 'dist', 'test', 'support', 'module-load.recorder.js');

interface Recorded {
  readonly status: number | null;
  readonly output: string;
  readonly modules: string[];
}

/**
 * Runs `node --require <recorder> ...args` until it exits; `whileRunning` may
 * wait for something and then stop it. Fails early if the process exits first.
 */
async function recordModules(
  logFile: string,
  args: string[],
  whileRunning: (stop: () => void) => Promise<void> = async () => undefined,
): Promise<Recorded> {
  const child = spawn(process.execPath, ['--require', recorder(), ...args], {
    cwd: repoRoot(),
    env: { ...process.env, RF_MODULE_LOG: logFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let stopped = false;
  const exitedEarly = exited.then((code) => {
    if (!stopped) throw new Error(`the process exited (${code}) before it was stopped; output:\n${output}`);
  });
  try {
    await Promise.race([
      whileRunning(() => {
        stopped = true;
        child.kill('SIGTERM');
      }),
      exitedEarly,
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    stopped = true;
  }
  const status = await exited;
  clearTimeout(killer);
  assert.ok(fs.existsSync(logFile), `the recorder wrote no module list; process output:\n${output}`);
  const modules: unknown = JSON.parse(fs.readFileSync(logFile, 'utf8'));
  assert.ok(Array.isArray(modules) && modules.every((m) => typeof m === 'string'));
  return { status, output, modules: modules as string[] };
}

const forbidden = (modules: string[]): string[] => modules.filter((m) => FORBIDDEN.test(m));
const packageLoaded = (modules: string[], name: string): boolean =>
  modules.some((m) => m.includes(`/node_modules/${name}/`));

describe('agent process module graph', () => {
  let dir: string;
  let server: ScriptedServer;
  const agentBin = (): string => path.join(repoRoot(), 'bin', 'restic-fleet-agent.js');

  before(async () => {
    dir = tempDir('rf-agent-modules-');
    server = new ScriptedServer();
    await server.start();
  });
  after(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the recorder sees the packages a process loads (control for the checks below)', async () => {
    const r = await recordModules(path.join(dir, 'control.json'), [
      '-e',
      "require('better-sqlite3'); require('@nestjs/common'); import('ws')",
    ]);
    assert.equal(r.status, 0, r.output);
    assert.ok(packageLoaded(r.modules, 'better-sqlite3'));
    assert.ok(packageLoaded(r.modules, '@nestjs/common'));
    assert.ok(packageLoaded(r.modules, 'ws'), 'a dynamic import is recorded too');
  });

  it('--help loads no better-sqlite3, @eventstore/db-client or @nestjs/*', async () => {
    const r = await recordModules(path.join(dir, 'help.json'), [agentBin(), '--help']);
    assert.equal(r.status, 0, r.output);
    assert.ok(r.output.includes('run [--config PATH]'), r.output);
    assert.ok(r.modules.some((m) => m.endsWith(path.join('dist', 'libs', 'events', 'src', 'index.js'))));
    assert.deepEqual(forbidden(r.modules), []);
  });

  it('run, connected to the control plane and then stopped, loads none of them either', async () => {
    const config = writeAgentConfig({ dir, server, config: { heartbeat_interval_s: 1 } });
    const hellosBefore = server.hellos.length;
    const r = await recordModules(
      path.join(dir, 'run.json'),
      [agentBin(), 'run', '--config', config],
      async (stop) => {
        await waitUntil(
          'the agent to connect and say hello',
          () => server.hellos.length > hellosBefore,
          TIMEOUT,
        );
        await waitUntil('a heartbeat on the open session', () => server.heartbeats > 0, TIMEOUT);
        stop();
      },
    );
    assert.ok(server.hellos.length > hellosBefore, r.output);
    assert.ok(packageLoaded(r.modules, 'ws'), 'the agent loaded its WebSocket client');
    assert.ok(r.modules.some((m) => m.endsWith(path.join('dist', 'libs', 'restic', 'src', 'index.js'))));
    assert.deepEqual(forbidden(r.modules), []);
  });
});
