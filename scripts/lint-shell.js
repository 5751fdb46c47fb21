#!/usr/bin/env node
// `npm run lint`, second half: shellcheck on the shell scripts we ship
// (deploy/**/*.sh, e.g. the agent installer the control plane serves) and the CI scripts (.ci/*.sh).
// shellcheck is a Debian package; `npm run bootstrap` installs it.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function shellScripts(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) shellScripts(p, out);
    else if (entry.name.endsWith('.sh')) out.push(path.relative(root, p));
  }
  return out;
}

const files = [...shellScripts(path.join(root, 'deploy')), ...shellScripts(path.join(root, '.ci'))].sort();
const res = spawnSync('shellcheck', ['--severity=style', ...files], { cwd: root, stdio: 'inherit' });
if (res.error) {
  console.error(
    `lint-shell: cannot run shellcheck (${res.error.code ?? res.error.message}). ` +
      'Install it with `npm run bootstrap` (Debian package shellcheck) or `apt-get install shellcheck`.',
  );
  process.exit(1);
}
if (res.status !== 0) {
  console.error(`lint-shell: shellcheck found problems in ${files.join(', ')} (above).`);
  process.exit(res.status ?? 1);
}
console.log(`lint-shell: ${files.length} shell script(s) clean: ${files.join(', ')}`);
