import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';

const UI_SOURCE = path.join('apps', 'control-plane', 'src', 'ui');

/** A file the admin UI serves, found and typed; `open` streams it. */
export interface UiAsset {
  readonly contentType: string;
  open(): Readable;
}

const TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Third-party browser files, served from node_modules (no CDN: the control plane may be offline). */
const VENDOR: Readonly<Record<string, string>> = {
  'htmx.min.js': 'htmx.org/dist/htmx.min.js',
  'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

/** Page assets: the browser bundle (built by scripts/build-ui.js into dist/ui-assets) and the job page's stylesheet. */
const PAGE_ASSETS: Readonly<Record<string, { dir: 'dist' | 'static'; type: string }>> = {
  'live-log.js': { dir: 'dist', type: 'text/javascript; charset=utf-8' },
  'live-log.js.map': { dir: 'dist', type: 'application/json; charset=utf-8' },
  'job-page.css': { dir: 'static', type: 'text/css; charset=utf-8' },
};

/**
 * The admin UI's files on disk: eta views, static files, vendor files and
 * the built browser bundle. Only names from fixed lists or plain names in
 * `ui/static` are served, so no request can reach another path.
 */
@Injectable()
export class UiAssetsRepository {
  /** Where the eta views are (`ui/views`). */
  readonly viewsDir: string;
  private readonly staticDir: string;
  /** dist/ui-assets at the repository root (the source tree's ui dir is apps/control-plane/src/ui). */
  private readonly bundleDir: string;

  constructor() {
    const ui = uiSourceDir();
    this.viewsDir = path.join(ui, 'views');
    this.staticDir = path.join(ui, 'static');
    this.bundleDir = path.join(ui, '..', '..', '..', '..', 'dist', 'ui-assets');
  }

  /** A file of `ui/static` (`/ui/static/{file}`); null for anything but a plain name that exists. */
  staticFile(file: string): UiAsset | null {
    // Only plain names from our own folder: no path separators, no dot-files.
    if (!/^[a-z0-9][a-z0-9.-]*\.(css|js|svg)$/i.test(file)) return null;
    return asset(path.join(this.staticDir, file));
  }

  /** A third-party browser file (`/ui/vendor/{file}`). */
  vendorFile(file: string): UiAsset | null {
    const rel = VENDOR[file];
    return rel ? asset(require.resolve(rel)) : null;
  }

  /** A page asset (`/ui/assets/{file}`). */
  pageAsset(file: string): UiAsset | null {
    const entry = PAGE_ASSETS[file];
    if (!entry) return null;
    return asset(path.join(entry.dir === 'dist' ? this.bundleDir : this.staticDir, file), entry.type);
  }
}

function asset(file: string, contentType?: string): UiAsset | null {
  if (!fs.existsSync(file)) return null;
  return {
    contentType: contentType ?? TYPES[path.extname(file)] ?? 'application/octet-stream',
    open: () => fs.createReadStream(file),
  };
}

/**
 * Templates and static files are not TypeScript, so tsc does not copy them to
 * dist/: they are read from the source tree, found from the repository root
 * (RF_REPO_ROOT when set, else walking up from this file).
 */
function uiSourceDir(): string {
  const roots: string[] = [];
  if (process.env.RF_REPO_ROOT) roots.push(process.env.RF_REPO_ROOT);
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    roots.push(dir);
    dir = path.dirname(dir);
  }
  for (const root of roots) {
    const candidate = path.join(root, UI_SOURCE);
    if (fs.existsSync(path.join(candidate, 'views', 'layout.eta'))) return candidate;
  }
  throw new Error(`admin UI templates not found (looked for ${UI_SOURCE}/views above ${__dirname})`);
}
