import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundledVersion } from '../build-info';
import { AGENT_CAPABILITIES } from '@rf/events';

export const PROTOCOL_VERSION = 1;

/** Node's platform/arch names → the wire's (as the reference system spells them). */
export function wireOs(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'windows' : platform;
}

export function wireArch(arch: string = process.arch): string {
  if (arch === 'x64') return 'amd64';
  if (arch === 'ia32') return '386';
  return arch; // arm64 is spelled the same
}

let cachedVersion: string | undefined;
/** The version baked into the single-file agent, else the one in the restic-fleet package.json it runs from. */
export function agentVersion(start = __dirname): string {
  if (cachedVersion) return cachedVersion;
  const baked = bundledVersion();
  if (baked) return (cachedVersion = baked);
  let dir = start;
  for (let i = 0; i < 8; i++) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'restic-fleet' && pkg.version) return (cachedVersion = pkg.version);
    }
    dir = path.dirname(dir);
  }
  return (cachedVersion = '0.0.0');
}

export interface HelloFacts {
  protocol_version: number;
  agent_version: string;
  restic_version: string;
  hostname: string;
  os: string;
  arch: string;
  boot_time: string;
  capabilities: string[];
}

export function helloFacts(resticVersion: string): HelloFacts {
  return {
    protocol_version: PROTOCOL_VERSION,
    agent_version: agentVersion(),
    restic_version: resticVersion,
    hostname: os.hostname(),
    os: wireOs(),
    arch: wireArch(),
    boot_time: new Date(Math.round(Date.now() - os.uptime() * 1000)).toISOString(),
    // This agent implements every capability the catalog it was built with names.
    capabilities: [...AGENT_CAPABILITIES],
  };
}
