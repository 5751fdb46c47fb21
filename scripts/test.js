#!/usr/bin/env node
// Runs the compiled specs with node's test runner.
//   node scripts/test.js                  all tiers
//   node scripts/test.js --tier unit      one tier (unit | int | e2e)
//   node scripts/test.js --grep outbox    only spec files whose path contains "outbox"
// Spec files are named *.unit.spec.ts, *.int.spec.ts, *.e2e.spec.ts.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const tiers = (opt('--tier') ?? 'unit,int,e2e').split(',');
const grep = opt('--grep');

function walk(dir, out) {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') walk(p, out);
    } else if (entry.name.endsWith('.spec.js')) out.push(p);
  }
  return out;
}

const files = walk(path.join(root, 'dist'), [])
  .filter((f) => tiers.some((t) => f.endsWith(`.${t}.spec.js`)))
  .filter((f) => !grep || f.includes(grep))
  .sort((a, b) => tiers.indexOf(tierOf(a)) - tiers.indexOf(tierOf(b)) || a.localeCompare(b));
function tierOf(f) {
  return tiers.find((t) => f.endsWith(`.${t}.spec.js`));
}
if (files.length === 0) {
  console.error(
    `test: no spec files found for tier(s) ${tiers.join(', ')}${grep ? ` matching "${grep}"` : ''}.`,
  );
  process.exit(1);
}
console.log(`test: ${files.length} spec file(s), tiers ${tiers.join(', ')}`);
const res = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${process.env.RF_TEST_CONCURRENCY ?? 2}`,
    ...files.map((f) => path.relative(root, f)),
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, RF_REPO_ROOT: root } },
);
process.exit(res.status ?? 1);
