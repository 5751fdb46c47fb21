#!/usr/bin/env node
// Bundles the admin UI's browser scripts (TypeScript, apps/control-plane/src/ui/client)
// with esbuild into dist/ui-assets/, where the job page serves them from.
'use strict';
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const entries = ['live-log'];
try {
  esbuild.buildSync({
    entryPoints: entries.map((name) =>
      path.join(root, 'apps', 'control-plane', 'src', 'ui', 'client', `${name}.ts`),
    ),
    outdir: path.join(root, 'dist', 'ui-assets'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: process.env.NODE_ENV === 'production',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
} catch (err) {
  console.error(`build-ui: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
