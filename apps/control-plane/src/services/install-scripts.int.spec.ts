import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderInstallScript } from './install-scripts';

function repoRoot(): string {
  return process.env.RF_REPO_ROOT ?? path.resolve(__dirname, '..', '..', '..', '..', '..');
}
const template = (kind: 'sh' | 'ps1'): string =>
  fs.readFileSync(path.join(repoRoot(), 'deploy', 'install', `install.${kind}`), 'utf8');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the Linux installer with /bin/sh (asynchronously: the test's HTTP server lives in this process). */
function runInstaller(script: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-s', '--', ...args], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(script);
  });
}

/** A directory of executables standing in for the host's PATH. */
function fakeBin(dir: string, tools: Record<string, string>): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(tools)) {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return dir;
}

describe('install.sh', () => {
  let work: string;
  let server: http.Server;
  let url = '';
  const bundle = Buffer.from('#!/usr/bin/env node\nconsole.log("9.9.9");\n');
  let sha256Answer = '';

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-install-sh-'));
    server = http.createServer((req, res) => {
      if (req.url === '/agent/restic-fleet-agent.js') res.writeHead(200).end(bundle);
      else if (req.url === '/agent/restic-fleet-agent.js.sha256') res.writeHead(200).end(sha256Answer);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  const script = (): string => renderInstallScript(template('sh'), 'sh', url);

  it('says clearly that Node.js is missing', async () => {
    const bin = fakeBin(path.join(work, 'bin-no-node'), { id: 'echo 0' });
    const r = await runInstaller(
      script(),
      ['--token', 't', '--prefix', work, '--no-service'],
      { PATH: bin },
      work,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Node\.js 20 or newer is required, and no 'node' was found on PATH/);
  });

  it('says clearly that Node.js is too old', async () => {
    const bin = fakeBin(path.join(work, 'bin-old-node'), { id: 'echo 0', node: 'echo 18.19.0' });
    const r = await runInstaller(script(), ['--prefix', work, '--no-service'], { PATH: bin }, work);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Node\.js 18\.19\.0 \(.*\/node\) is too old: the agent needs Node\.js 20 or newer/,
    );
  });

  it('rejects unknown options, a non-http --server, and a service install without root', async () => {
    const env = { PATH: process.env.PATH ?? '' };
    const unknown = await runInstaller(script(), ['--frobnicate'], env, work);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown option --frobnicate/);
    const badServer = await runInstaller(script(), ['--server', 'ftp://x', '--no-service'], env, work);
    assert.match(badServer.stderr, /--server must be the control plane's http\(s\) URL/);
    const missing = await runInstaller(script(), ['--token'], env, work);
    assert.match(missing.stderr, /--token needs a value/);
    const bin = fakeBin(path.join(work, 'bin-user'), { id: 'echo 1000' });
    const notRoot = await runInstaller(script(), ['--token', 't'], { PATH: `${bin}:${env.PATH}` }, work);
    assert.equal(notRoot.code, 1);
    assert.match(notRoot.stderr, /needs root: run it with sudo, or add --prefix DIR --no-service/);
    const help = await runInstaller(script(), ['--help'], env, work);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--prefix DIR/);
  });

  it('refuses an agent file that does not match the published SHA-256 and changes nothing', async () => {
    sha256Answer = `${'0'.repeat(64)}  restic-fleet-agent.js\n`;
    const prefix = path.join(work, 'mismatch');
    const r = await runInstaller(
      script(),
      ['--token', 't', '--prefix', prefix, '--no-service'],
      { PATH: process.env.PATH ?? '' },
      work,
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /does not match its published SHA-256 .*nothing was changed/);
    assert.deepEqual(fs.readdirSync(prefix), [], 'no agent file, no temporary file, no config');
  });
});

describe('install.ps1 (cannot run here: checked for the steps it must take)', () => {
  const ps1 = (): string => renderInstallScript(template('ps1'), 'ps1', 'https://fleet.example.com');

  it('takes the same options as install.sh, with the served URL as the default server', () => {
    const text = ps1();
    for (const p of [
      '[string]$Token',
      "[string]$Server = 'https://fleet.example.com'",
      '[string]$Prefix',
      '[switch]$NoService',
    ])
      assert.ok(text.includes(p), p);
  });

  it('checks Node.js >= 20, verifies the SHA-256, enrols once with the token in the environment', () => {
    const text = ps1();
    assert.match(text, /\$nodeMajor -lt 20/);
    assert.match(text, /Get-FileHash -Algorithm SHA256/);
    assert.match(text, /\/agent\/restic-fleet-agent\.js\.sha256/);
    assert.match(text, /-TimeoutSec 120/);
    assert.match(text, /\$env:RF_ENROL_TOKEN = \$Token/);
    assert.match(text, /Select-String -Quiet -Path \$Config -Pattern '\^agent_id:'/);
    assert.doesNotMatch(text, /--token/, 'the token never goes on a command line');
    assert.doesNotMatch(text, /Write-Host[^\n]*\$Token/, 'the token is never printed');
  });

  it('restricts the config to Administrators and SYSTEM by SID and installs the service with node-windows', () => {
    const text = ps1();
    assert.match(
      text,
      /icacls \$Config \/inheritance:r \/grant:r "\*\$\{AdministratorsSid\}:\(F\)" "\*\$\{SystemSid\}:\(F\)"/,
    );
    assert.match(text, /\$AdministratorsSid = 'S-1-5-32-544'/);
    assert.match(text, /\$SystemSid = 'S-1-5-18'/);
    assert.match(text, /node-windows@1\.0\.0-beta\.8/);
    assert.match(text, /service install --config \$Config/);
    assert.match(text, /winget install --id restic\.restic/);
  });

  it('is balanced: every (, { and [ outside strings and comments is closed', () => {
    const text = ps1();
    const stack: string[] = [];
    const pairs: Record<string, string> = { ')': '(', '}': '{', ']': '[' };
    let quote: string | null = null;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (quote) {
        if (quote === '"' && c === '`') i++;
        else if (c === quote) {
          if (quote === "'" && text[i + 1] === "'") i++;
          else quote = null;
        }
        continue;
      }
      if (c === '#') {
        while (i < text.length && text[i] !== '\n') i++;
      } else if (c === "'" || c === '"') quote = c;
      else if ('({['.includes(c)) stack.push(c);
      else if (c in pairs) assert.equal(stack.pop(), pairs[c], `unbalanced ${c} at offset ${i}`);
    }
    assert.equal(quote, null, 'every string is closed');
    assert.deepEqual(stack, [], 'every bracket is closed');
  });
});
