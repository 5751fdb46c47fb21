#!/usr/bin/env node
// Compiles the whole monorepo with one tsc program into dist/, then makes the
// libraries resolvable at run time as `@rf/<name>` (dist/node_modules shims),
// mirroring the tsconfig `paths` used at compile time.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const started = Date.now();
const res = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
// RF_BUILD_LENIENT=1 keeps going after type errors (tsc still emits JS), so one
// area's unfinished work does not stop another area's tests during development.
const lenient = process.env.RF_BUILD_LENIENT === '1';
if (res.status !== 0) {
  console.error('build: TypeScript reported errors (above). Fix them and run `npm run build` again.');
  if (!lenient) process.exit(res.status ?? 1);
}
// Drop compiled files whose source is gone (a moved or deleted file), so the
// test runner never runs a stale spec from an earlier build.
function pruneStale(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) pruneStale(p);
    else if (/\.js(\.map)?$/.test(entry.name)) {
      const source = path
        .join(root, path.relative(path.join(root, 'dist'), p))
        .replace(/\.js(\.map)?$/, '.ts');
      if (!fs.existsSync(source)) fs.rmSync(p);
    }
  }
  if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
}
for (const top of ['apps', 'libs', 'test']) pruneStale(path.join(root, 'dist', top));
// One shim per tsconfig `paths` entry (`@rf/<lib>` and `@rf/<lib>/testing`), so
// the run-time names are exactly the compile-time ones.
const { paths } = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8')).compilerOptions;
for (const [name, [source]] of Object.entries(paths)) {
  const dir = path.join(root, 'dist', 'node_modules', ...name.split('/'));
  fs.mkdirSync(dir, { recursive: true });
  const main = path.relative(dir, path.join(root, 'dist', source.replace(/\.ts$/, '.js')));
  const pkg = { name, private: true, main: main.split(path.sep).join('/') };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
}
// Browser bundles for the admin UI, when the UI exists.
const uiBuild = path.join(root, 'scripts', 'build-ui.js');
if (fs.existsSync(uiBuild)) {
  const ui = spawnSync(process.execPath, [uiBuild], { cwd: root, stdio: 'inherit' });
  if (ui.status !== 0) process.exit(ui.status ?? 1);
}
// The agent as one file (dist/agent/restic-fleet-agent.js), served by the control plane.
const agentBuild = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-agent.js')], {
  cwd: root,
  stdio: 'inherit',
});
if (agentBuild.status !== 0) process.exit(agentBuild.status ?? 1);
if (!process.env.RF_QUIET_BUILD) console.log(`build: ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
