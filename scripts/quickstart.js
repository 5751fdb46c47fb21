#!/usr/bin/env node
// `npm run quickstart`: a control plane on the embedded store with data in
// ./data, a local agent enrolled to it, a demo repository with a demo schedule,
// and a first backup. Ctrl-C stops both processes; a second run reuses ./data.
//
// What it keeps in ./data/quickstart.json (mode 0600): the admin login it made
// up (unless RF_ADMIN_USER / RF_ADMIN_PASSWORD name one: then those are used and
// the password is not written anywhere) and an API token it uses to drive the
// REST API. The demo repository password is random and goes only to the control
// plane, which keeps it encrypted.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dataDir = path.resolve(process.env.RF_DATA_DIR ?? path.join(root, 'data'));
const listen = process.env.RF_LISTEN ?? '127.0.0.1:8080';
const baseUrl = process.env.RF_PUBLIC_URL ?? `http://${listen}`;
const stateFile = path.join(dataDir, 'quickstart.json');
const agentConfig = path.join(dataDir, 'agent', 'agent.yaml');
const demoSource = path.join(dataDir, 'demo-source');
const demoRepo = path.join(dataDir, 'demo-repo');
const cpCli = path.join(root, 'dist', 'apps', 'control-plane', 'src', 'cli.js');
const agentCli = path.join(root, 'dist', 'apps', 'agent', 'src', 'cli.js');
const started = Date.now();

const say = (msg) => console.log(`quickstart: ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];

function loadState() {
  try {
    return JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    return {};
  }
}
function saveState(state) {
  fs.mkdirSync(dataDir, { recursive: true });
  const tmp = `${stateFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, stateFile);
}

function startProcess(name, args, env) {
  const logPath = path.join(dataDir, `${name}.log`);
  const out = fs.openSync(logPath, 'a');
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  });
  child.on('exit', (code, signal) => {
    if (!shuttingDown) {
      console.error(`quickstart: the ${name} exited (${signal ?? code}). Its log: ${logPath}`);
      shutdown(1);
    }
  });
  children.push({ name, child });
  return child;
}

let shuttingDown = false;
async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  say('stopping…');
  for (const { child } of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (
    children.some(({ child }) => child.exitCode === null && child.signalCode === null) &&
    Date.now() < deadline
  )
    await sleep(100);
  for (const { child } of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  say('stopped. Run `npm run quickstart` again to continue where you left off.');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

async function api(method, urlPath, body, token) {
  const res = await fetch(`${baseUrl}${urlPath}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = { raw: text };
  }
  if (!res.ok) throw new Error(`${method} ${urlPath} → ${res.status}: ${text.slice(0, 500)}`);
  return json;
}

async function waitFor(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${lastErr.message}` : ''}`);
}

async function waitForJob(token, jobId, label) {
  let lastPct = -1;
  const job = await waitFor(
    `${label} job ${jobId}`,
    async () => {
      const j = await api('GET', `/api/jobs/${jobId}`, undefined, token);
      const pct = Math.round((j.progress?.percent_done ?? 0) * 100);
      if (j.status === 'running' && pct !== lastPct && process.stdout.isTTY) {
        lastPct = pct;
        process.stdout.write(
          `\rquickstart: ${label}: ${'█'.repeat(Math.floor(pct / 5)).padEnd(20, '░')} ${pct}%   `,
        );
      }
      return ['succeeded', 'warning', 'failed', 'cancelled', 'lost'].includes(j.status) ? j : null;
    },
    10 * 60_000,
  );
  const ok = ['succeeded', 'warning'].includes(job.status);
  const bar = ok
    ? `${'█'.repeat(20)} 100%`
    : `${'█'.repeat(Math.floor(Math.max(lastPct, 0) / 5)).padEnd(20, '░')}`;
  process.stdout.write(`\rquickstart: ${label}: ${bar} ${job.status}\n`);
  return job;
}

function makeDemoSource() {
  if (fs.existsSync(demoSource)) return;
  fs.mkdirSync(path.join(demoSource, 'documents'), { recursive: true });
  fs.mkdirSync(path.join(demoSource, 'photos'), { recursive: true });
  fs.writeFileSync(
    path.join(demoSource, 'README.txt'),
    'This folder is the demo data that the quickstart agent backs up.\nChange files here and press "Back up now" on the host page.\n',
  );
  for (let i = 1; i <= 50; i++) {
    fs.writeFileSync(
      path.join(demoSource, 'documents', `note-${i}.txt`),
      `Note ${i}\n${'lorem ipsum '.repeat(50 * i)}\n`,
    );
  }
  for (let i = 1; i <= 5; i++)
    fs.writeFileSync(path.join(demoSource, 'photos', `photo-${i}.bin`), crypto.randomBytes(256 * 1024));
}

async function main() {
  for (const f of [cpCli, agentCli]) {
    if (!fs.existsSync(f))
      throw new Error(`${path.relative(root, f)} is missing; run \`npm run build\` first.`);
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const state = loadState();
  const firstRun = !state.admin_user;
  const admin = adminLogin(state);
  if (firstRun) {
    state.admin_user = admin.user;
    if (!admin.fromEnv) state.admin_password = admin.password;
    saveState(state);
  }

  say(`${firstRun ? 'first run' : 'reusing ./data'}; starting the control plane on ${baseUrl}`);
  startProcess('control-plane', [cpCli, 'serve'], {
    RF_DATA_DIR: dataDir,
    RF_LISTEN: listen,
    RF_PUBLIC_URL: baseUrl,
    RF_ADMIN_USER: admin.user,
    RF_ADMIN_PASSWORD: admin.password,
  });
  await waitFor('the control plane at /healthz', async () => (await fetch(`${baseUrl}/healthz`)).ok, 60_000);
  const loginWorks = await canLogIn(admin);

  if (!state.api_token) {
    const res = spawnSync(
      process.execPath,
      [cpCli, 'tokens', 'create', '--name', 'quickstart', '--role', 'admin'],
      {
        cwd: root,
        env: { ...process.env, RF_DATA_DIR: dataDir },
        encoding: 'utf8',
      },
    );
    const m = /rf_[A-Za-z0-9_-]+/.exec(res.stdout ?? '');
    if (res.status !== 0 || !m) throw new Error(`could not create an API token: ${res.stderr || res.stdout}`);
    state.api_token = m[0];
    saveState(state);
  }
  const token = state.api_token;
  // A token written by the CLI reaches the running server through the event log within a moment.
  await waitFor(
    'the API token to be accepted',
    async () => (await api('GET', '/api/auth/me', undefined, token)) !== undefined,
    15_000,
  );

  if (!fs.existsSync(agentConfig)) {
    say('enrolling a local agent');
    const enrol = await api('POST', '/api/enrolment-tokens', {}, token);
    fs.mkdirSync(path.dirname(agentConfig), { recursive: true });
    const res = spawnSync(
      process.execPath,
      [agentCli, 'enrol', '--server', baseUrl, '--token', enrol.token, '--config', agentConfig],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    if (res.status !== 0) throw new Error(`agent enrolment failed: ${res.stderr || res.stdout}`);
  }
  startProcess('agent', [agentCli, 'run', '--config', agentConfig], {});

  const host = await waitFor(
    'the local agent to connect',
    async () =>
      (await api('GET', '/api/hosts', undefined, token)).hosts.find((h) => h.status === 'online') ?? null,
    60_000,
  );
  state.host_id = host.id;
  saveState(state);

  if (!state.demo_configured) {
    makeDemoSource();
    say(`configuring the demo repository ${path.relative(root, demoRepo)}`);
    await api(
      'PUT',
      `/api/hosts/${host.id}/repository`,
      { url: demoRepo, password: crypto.randomBytes(24).toString('base64url') },
      token,
    );
    const init = await api('POST', `/api/hosts/${host.id}/jobs`, { kind: 'init' }, token);
    const initJob = await waitForJob(token, init.job_id, 'init');
    if (initJob.status !== 'succeeded')
      throw new Error(`repository init ${initJob.status}: ${initJob.error ?? ''}`);
    await api(
      'PUT',
      `/api/hosts/${host.id}/schedules`,
      {
        schedules: [
          {
            id: 'daily-backup',
            kind: 'backup',
            cron: '0 2 * * *',
            enabled: true,
            paths: [demoSource],
            tags: ['demo'],
          },
          {
            id: 'weekly-forget',
            kind: 'forget',
            cron: '0 4 * * 0',
            enabled: true,
            retention: { keep_daily: 7, keep_weekly: 4, keep_monthly: 6 },
            options: { prune: true },
          },
        ],
      },
      token,
    );
    state.demo_configured = true;
    saveState(state);
  }

  if (!state.first_backup_job) {
    makeDemoSource();
    say('running the first backup');
    const job = await api(
      'POST',
      `/api/hosts/${host.id}/jobs`,
      { kind: 'backup', paths: [demoSource], tags: ['demo'] },
      token,
    );
    const done = await waitForJob(token, job.job_id, 'backup');
    if (!['succeeded', 'warning'].includes(done.status))
      throw new Error(`first backup ${done.status}: ${done.error ?? ''}`);
    state.first_backup_job = job.job_id;
    saveState(state);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    say(`first snapshot saved ${secs} s after start`);
  }

  console.log(`
  restic-fleet is running.

    URL:      ${baseUrl}
    login:    ${admin.user} / ${admin.fromEnv ? '(the password in RF_ADMIN_PASSWORD)' : admin.password}
    data:     ${path.relative(root, dataDir) || '.'}  (logs: control-plane.log, agent.log)

  Try next:
    • open ${baseUrl}/hosts/${host.id} and press "Back up now"; watch the live log
    • see the snapshots on that page, and the schedules (daily backup, weekly forget + prune)
    • ${baseUrl}/audit shows every action, by whom
    • install an agent on another machine: Settings → Add host

  Ctrl-C stops the control plane and the agent.
`);
  if (!loginWorks) {
    console.log(
      `  Note: ${path.relative(root, dataDir) || '.'} already has its first admin (${state.admin_user}, from an earlier run);\n` +
        `  RF_ADMIN_USER / RF_ADMIN_PASSWORD only create the first admin of a new data directory, so\n` +
        `  ${admin.user} cannot log in here. Log in as ${state.admin_user}${state.admin_password ? ` / ${state.admin_password}` : ''}, or start with an empty RF_DATA_DIR.\n`,
    );
  }
}

/**
 * The first admin: RF_ADMIN_USER / RF_ADMIN_PASSWORD when set (a user name alone gets a
 * made-up password, as on a first run), else "admin" with a made-up password. On later
 * runs the one made up on the first run is reused.
 */
function adminLogin(state) {
  const envUser = process.env.RF_ADMIN_USER?.trim() || undefined;
  const envPassword = process.env.RF_ADMIN_PASSWORD || undefined;
  if (envPassword !== undefined && envUser === undefined)
    throw new Error('RF_ADMIN_PASSWORD is set but RF_ADMIN_USER is not; set both, or neither');
  if (envUser !== undefined && envPassword !== undefined)
    return { user: envUser, password: envPassword, fromEnv: true };
  const user = envUser ?? state.admin_user ?? 'admin';
  const password =
    user === state.admin_user && state.admin_password
      ? state.admin_password
      : crypto.randomBytes(12).toString('base64url');
  return { user, password, fromEnv: false };
}

/** Whether this admin can log in: a reused data dir keeps the admin of its first run. */
async function canLogIn(admin) {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: admin.user, password: admin.password }),
  });
  return res.ok;
}

main().catch((err) => {
  console.error(`quickstart: ${err.message}`);
  void shutdown(1);
});
