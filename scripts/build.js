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
for (const lib of ['alerts', 'events', 'projections', 'restic']) {
  const dir = path.join(root, 'dist', 'node_modules', '@rf', lib);
  fs.mkdirSync(dir, { recursive: true });
  const pkg = { name: `@rf/${lib}`, private: true, main: `../../../libs/${lib}/src/index.js` };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
}
// Browser bundles for the admin UI, when the UI exists.
const uiBuild = path.join(root, 'scripts', 'build-ui.js');
if (fs.existsSync(uiBuild)) {
  const ui = spawnSync(process.execPath, [uiBuild], { cwd: root, stdio: 'inherit' });
  if (ui.status !== 0) process.exit(ui.status ?? 1);
}
if (!process.env.RF_QUIET_BUILD) console.log(`build: ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
