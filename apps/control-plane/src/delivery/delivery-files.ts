import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Finds a file the build or the repository provides (the single-file agent in
 * dist/agent/, the install scripts in deploy/install/): under RF_REPO_ROOT when
 * set, else in the nearest directory above this file that has it.
 */
export function findDeliveryFile(relative: string, start = __dirname): string | undefined {
  const roots: string[] = [];
  if (process.env.RF_REPO_ROOT) roots.push(process.env.RF_REPO_ROOT);
  let dir = start;
  for (let i = 0; i < 8; i++) {
    roots.push(dir);
    dir = path.dirname(dir);
  }
  for (const root of roots) {
    const candidate = path.join(root, relative);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}
