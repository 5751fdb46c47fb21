import * as fs from 'node:fs';
import * as path from 'node:path';

const UI_SOURCE = path.join('apps', 'control-plane', 'src', 'ui');

/**
 * Templates and static files are not TypeScript, so tsc does not copy them to
 * dist/: they are read from the source tree, found from the repository root
 * (RF_REPO_ROOT when set, else walking up from this file).
 */
export function uiSourceDir(): string {
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
  if (fs.existsSync(path.join(__dirname, 'views', 'layout.eta'))) return __dirname;
  throw new Error(`admin UI templates not found (looked for ${UI_SOURCE}/views above ${__dirname})`);
}
