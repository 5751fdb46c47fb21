#!/usr/bin/env node
// Bundles the agent (apps/agent/src/cli.ts) with esbuild into one file that
// runs with Node.js >= 20 alone: no node_modules, no native module. The
// control plane serves it at /agent/restic-fleet-agent.js (see apps/agent/README.md).
//   node scripts/build-agent.js [--version X.Y.Z] [--outdir DIR]
// Writes DIR/restic-fleet-agent.js, DIR/restic-fleet-agent.js.sha256 (sha256sum
// format) and DIR/restic-fleet-agent.json ({version, sha256, bytes}).
// Default DIR is dist/agent, default version package.json's; tests build older
// versions elsewhere to exercise updates.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const FILE = 'restic-fleet-agent.js';

function option(name) {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) fail(`${name} needs a value`);
  return v;
}

function fail(message) {
  console.error(`build-agent: ${message}`);
  process.exit(1);
}

// The control plane's server side must never reach the agent: the build fails,
// naming the importer, if an import chain pulls one of these in.
const SERVER_ONLY =
  /^(better-sqlite3|@eventstore\/db-client|@nestjs\/.*|nestjs-pino|express|@rf\/event-store|@rf\/projections)$/;
// pino's worker-thread transports: reachable through pino, never used (the
// agent logs JSON to stdout). A stub that throws if ever called keeps their
// code, and node:worker_threads, out of the agent's memory.
const UNUSED = /^thread-stream$/;
const agentBoundary = {
  name: 'agent-boundary',
  setup(build) {
    build.onResolve({ filter: SERVER_ONLY }, (args) => ({
      errors: [
        {
          text: `${args.path} is control-plane code (imported by ${args.importer}); the agent must not load it`,
        },
      ],
    }));
    build.onResolve({ filter: UNUSED }, (args) => ({ path: args.path, namespace: 'unused' }));
    build.onLoad({ filter: /.*/, namespace: 'unused' }, (args) => ({
      loader: 'js',
      contents: `const fail = () => { throw new Error(${JSON.stringify(
        `${args.path} is not part of the single-file agent`,
      )}); };
module.exports = new Proxy(function () {}, {
  get: (_t, key) => (key === '__esModule' || typeof key === 'symbol' ? undefined : fail()),
  apply: fail,
  construct: fail,
});`,
    }));
  },
};

async function main() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const version = option('--version') ?? pkg.version;
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version))
    fail(`--version must look like 1.2.3, got "${version}"`);
  const outdir = path.resolve(option('--outdir') ?? path.join(root, 'dist', 'agent'));
  const unitTemplate = fs.readFileSync(
    path.join(root, 'deploy', 'systemd', 'restic-fleet-agent.service'),
    'utf8',
  );
  fs.mkdirSync(outdir, { recursive: true });
  const outfile = path.join(outdir, FILE);
  const tmp = `${outfile}.tmp-${process.pid}`;
  try {
    await esbuild.build({
      entryPoints: [path.join(root, 'apps', 'agent', 'src', 'cli.ts')],
      outfile: tmp,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      mainFields: ['module', 'main'],
      tsconfig: path.join(root, 'tsconfig.json'),
      plugins: [agentBoundary],
      define: {
        RF_AGENT_BUILD_VERSION: JSON.stringify(version),
        RF_AGENT_UNIT_TEMPLATE: JSON.stringify(unitTemplate),
      },
      // Optional native speed-ups of `ws`; it works without them.
      external: ['bufferutil', 'utf-8-validate', 'node-windows', 'pino-pretty'],
      banner: {
        js: `#!/usr/bin/env node\n// restic-fleet-agent ${version}: the whole agent in one file; needs only Node.js >= 20.`,
      },
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      logLevel: 'warning',
      write: true,
    });
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    fail(err instanceof Error ? err.message : String(err));
  }
  const bytes = fs.readFileSync(tmp);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  fs.renameSync(tmp, outfile);
  fs.writeFileSync(path.join(outdir, `${FILE}.sha256`), `${sha256}  ${FILE}\n`);
  fs.writeFileSync(
    path.join(outdir, 'restic-fleet-agent.json'),
    JSON.stringify({ version, sha256, bytes: bytes.length }, null, 2) + '\n',
  );
  if (!process.env.RF_QUIET_BUILD)
    console.log(
      `build-agent: ${path.relative(root, outfile) || outfile} ${version} (${(bytes.length / 1024).toFixed(0)} KiB)`,
    );
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
