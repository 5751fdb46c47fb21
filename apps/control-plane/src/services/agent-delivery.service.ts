import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { isNewerAgentVersion } from '@rf/events';
import { AppConfig } from '../core/app-config';
import { AppError } from '../core/app-error';
import {
  AgentDeliveryRepository,
  type AgentBundle,
  type InstallScriptKind,
} from '../repositories/agent-delivery.repository';
import { renderInstallScript } from './install-scripts';

/**
 * Knows what the control plane hands to hosts: the single-file agent (its
 * version and SHA-256) and the install scripts with this control plane's URL
 * baked in. Loaded once at boot; a missing build makes `/agent/*` answer 503
 * and turns update offers off, with a log line saying how to fix it.
 */
@Injectable()
export class AgentDeliveryService implements OnModuleInit {
  private readonly logger = new Logger(AgentDeliveryService.name);
  private bundle: AgentBundle | undefined;
  private problem = 'the agent bundle has not been loaded';
  private readonly scripts = new Map<InstallScriptKind, string>();

  constructor(
    private readonly files: AgentDeliveryRepository,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    try {
      this.bundle = this.files.loadBundle();
      this.logger.log(
        { version: this.bundle.version, sha256: this.bundle.sha256, bytes: this.bundle.bytes.length },
        'serving the single-file agent at /agent/restic-fleet-agent.js',
      );
    } catch (err) {
      this.problem = (err as Error).message;
      this.logger.warn(
        { reason: this.problem },
        'no agent to serve: /agent/restic-fleet-agent.js answers 503',
      );
    }
    for (const kind of ['sh', 'ps1'] as const) {
      const template = this.files.loadInstallTemplate(kind);
      if (template === undefined) {
        this.logger.warn(
          { kind },
          `deploy/install/install.${kind} not found; /agent/install.${kind} answers 503`,
        );
        continue;
      }
      this.scripts.set(kind, renderInstallScript(template, kind, this.config.publicUrl));
    }
  }

  get current(): AgentBundle | undefined {
    return this.bundle;
  }

  /** The bundle, or an `unavailable` error that says how to build it. */
  requireBundle(): AgentBundle {
    if (!this.bundle) throw new AppError('unavailable', this.problem);
    return this.bundle;
  }

  /** True when an agent reporting `version` is older than the one served. */
  isOutdated(version: string | null | undefined): boolean {
    return !!this.bundle && typeof version === 'string' && isNewerAgentVersion(this.bundle.version, version);
  }

  installScript(kind: InstallScriptKind): string {
    const text = this.scripts.get(kind);
    if (text === undefined)
      throw new AppError('unavailable', `install.${kind} is not available on this control plane`);
    return text;
  }
}
