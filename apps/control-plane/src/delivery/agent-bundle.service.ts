import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { isAgentVersion, isNewerAgentVersion } from '@rf/events';
import { AppError } from '../api/app-error';
import { findDeliveryFile } from './delivery-files';

export const AGENT_FILE_NAME = 'restic-fleet-agent.js';
const MANIFEST = path.join('dist', 'agent', 'restic-fleet-agent.json');

/** The single-file agent this control plane serves (scripts/build-agent.js writes it). */
export interface AgentBundle {
  readonly version: string;
  readonly sha256: string;
  readonly bytes: Buffer;
}

/**
 * Knows the agent file the control plane serves, its version and its SHA-256.
 * Read once at boot and checked against the build's manifest, so the version
 * offered to agents, the hash and the bytes served always belong together.
 */
@Injectable()
export class AgentBundleService implements OnModuleInit {
  private readonly logger = new Logger(AgentBundleService.name);
  private bundle: AgentBundle | undefined;
  private problem = 'the agent bundle has not been loaded';

  onModuleInit(): void {
    try {
      this.bundle = loadBundle(findDeliveryFile(MANIFEST));
      this.logger.log(
        { version: this.bundle.version, sha256: this.bundle.sha256, bytes: this.bundle.bytes.length },
        'serving the single-file agent at /agent/restic-fleet-agent.js',
      );
    } catch (err) {
      this.problem = (err as Error).message;
      this.logger.warn({ reason: this.problem }, 'no agent to serve: /agent/* answers 503');
    }
  }

  get current(): AgentBundle | undefined {
    return this.bundle;
  }

  /** The bundle, or an `unavailable` error that says how to build it. */
  require(): AgentBundle {
    if (!this.bundle) throw new AppError('unavailable', this.problem);
    return this.bundle;
  }

  /** True when an agent reporting `version` is older than the one served. */
  isOutdated(version: string | null | undefined): boolean {
    return !!this.bundle && typeof version === 'string' && isNewerAgentVersion(this.bundle.version, version);
  }
}

function loadBundle(manifestPath: string | undefined): AgentBundle {
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
