import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import { isAgentVersion } from '@rf/events';

export const AGENT_FILE_NAME = 'restic-fleet-agent.js';
const MANIFEST = path.join('dist', 'agent', 'restic-fleet-agent.json');

/** The single-file agent as the build wrote it (scripts/build-agent.js). */
export interface AgentBundle {
  readonly version: string;
  readonly sha256: string;
  readonly bytes: Buffer;
}

export type InstallScriptKind = 'sh' | 'ps1';

/**
 * The files the control plane hands to hosts: the single-file agent in
 * dist/agent/ (checked against the build's manifest, so the version offered,
 * the hash and the bytes served always belong together) and the install
 * script templates in deploy/install/. Found under RF_REPO_ROOT when set,
 * else in the nearest directory above this file that has them.
 */
@Injectable()
export class AgentDeliveryRepository {
  /** The built agent; throws an Error that says how to build it when it is missing or inconsistent. */
  loadBundle(): AgentBundle {
    const manifestPath = findFile(MANIFEST);
    if (!manifestPath) throw new Error(`${MANIFEST} not found; run "npm run build" to build the agent`);
    let manifest: Record<string, unknown>;
    try {
      manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${manifestPath} is unreadable (${(err as Error).message}); run "npm run build"`);
    }
    const { version, sha256 } = manifest;
    if (!isAgentVersion(version) || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))
      throw new Error(`${manifestPath} lacks a version or sha256; run "npm run build"`);
    const file = path.join(path.dirname(manifestPath), AGENT_FILE_NAME);
    const bytes = fs.readFileSync(file);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256)
      throw new Error(
        `${file} does not match its manifest (sha256 ${actual}, expected ${sha256}); run "npm run build"`,
      );
    return { version, sha256, bytes };
  }

  /** deploy/install/install.{sh,ps1} as in the repository; undefined when it is not there. */
  loadInstallTemplate(kind: InstallScriptKind): string | undefined {
    const file = findFile(path.join('deploy', 'install', `install.${kind}`));
    return file ? fs.readFileSync(file, 'utf8') : undefined;
  }
}

function findFile(relative: string, start = __dirname): string | undefined {
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
