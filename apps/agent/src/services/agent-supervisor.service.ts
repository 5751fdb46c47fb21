import { agentVersion } from './host-facts';
import type { AgentConfig } from '../config/agent-config';
import type { AgentLogger } from '../logger';
import { AgentDownloadRepository } from '../repositories/agent-download.repository';
import { AgentFileRepository, UpdateMarkerRepository } from '../repositories/agent-file.repository';
import {
  isTrialMessage,
  TrialAgentRepository,
  type TrialMessage,
} from '../repositories/trial-agent.repository';
import { AgentService } from './agent.service';
import { AgentUpdaterService, UPDATE_TRIAL_MS, type TrialHandle } from './agent-updater.service';

/** Exit status that asks the service manager for a restart (systemd `Restart=on-failure`). */
export const EXIT_RESTART = 75;
/** A restarted new version that never confirms after this many starts is rolled back at once. */
const MAX_UNCONFIRMED_STARTS = 3;

/** The IPC channel to the agent that started this one as a trial. */
export interface ParentChannel {
  send(m: TrialMessage): void;
  onMessage(cb: (m: unknown) => void): void;
  onDisconnect(cb: () => void): void;
}

export interface AgentSupervisorOptions {
  readonly configPath: string;
  readonly config: AgentConfig;
  readonly logger: AgentLogger;
  /** The single file this agent runs from; undefined when it runs from a source checkout. */
  readonly agentFile: string | undefined;
  /** `RF_AGENT_SUPERVISOR` (set by the systemd unit and the Windows service): who restarts us. */
  readonly serviceManager: string | undefined;
  /** Set when this process runs as a trial child of an updating agent. */
  readonly parent: ParentChannel | undefined;
  readonly exit: (code: number) => void;
}

/**
 * The agent process: runs one AgentService at a time and owns what outlives
 * it — signals, and the update hand-over (apps/agent/README.md, "Updates").
 * As a trial child it tells its parent once the control plane has acked its
 * hello. After an update under a service manager it watches that the new
 * version connects, and puts the previous file back if it does not.
 */
export class AgentSupervisor {
  private agent: AgentService | undefined;
  private readonly updater: AgentUpdaterService;
  private readonly markers: UpdateMarkerRepository | undefined;
  private readonly files: AgentFileRepository | undefined;
  private adoptedChild: TrialHandle | undefined;
  private trialReported = false;
  private adoptedByParent = false;
  private watchdog: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly o: AgentSupervisorOptions) {
    this.files = o.agentFile ? new AgentFileRepository(o.agentFile) : undefined;
    this.markers = o.agentFile ? new UpdateMarkerRepository(o.agentFile) : undefined;
    this.updater = new AgentUpdaterService({
      autoUpdate: o.config.auto_update,
      currentVersion: agentVersion(),
      configPath: o.configPath,
      files: this.files,
      markers: this.markers,
      supervised: o.serviceManager !== undefined,
      download: new AgentDownloadRepository(),
      trials: new TrialAgentRepository(),
      logger: o.logger,
      host: {
        activeJobs: () => this.agent?.activeJobs ?? 0,
        stopAgent: () => this.stopAgent(),
        startAgent: () => this.startAgent(),
        adopt: (child) => this.adopt(child),
        restartThroughServiceManager: () => {
          this.o.logger.info(
            { manager: this.o.serviceManager },
            'agent: restarting through the service manager',
          );
          this.o.logger.flush();
          this.o.exit(EXIT_RESTART);
        },
      },
    });
  }

  async start(): Promise<void> {
    if (this.o.parent) this.listenToParent(this.o.parent);
    else if (this.o.serviceManager !== undefined && this.watchUpdateMarker()) return;
    await this.startAgent();
  }

  /** SIGTERM/SIGINT: stop whatever runs the agent right now, then exit. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    const log = this.o.logger;
    log.info({ reason }, 'agent: stopping (cancelling running jobs)');
    this.updater.cancel();
    if (this.watchdog) clearTimeout(this.watchdog);
    // Never hang on shutdown: restic gets SIGINT, then SIGKILL after the grace; allow that plus a margin.
    const hardStop = setTimeout(
      () => {
        log.error({}, 'agent: shutdown did not complete in time; exiting');
        this.o.exit(1);
      },
      (this.o.config.cancel_grace_s + 20) * 1000,
    );
    hardStop.unref();
    const child = this.adoptedChild;
    if (child) {
      // The adopted agent does the real work; it stops itself on the same signal.
      child.signal('SIGTERM');
      void child.exited.then(({ code }) => this.o.exit(code ?? 1));
      return;
    }
    this.stopAgent().then(
      () => {
        log.info({}, 'agent: stopped');
        log.flush();
        this.o.exit(0);
      },
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'agent: error while stopping');
        this.o.exit(1);
      },
    );
  }

  private async startAgent(): Promise<void> {
    if (this.stopping) return;
    const agent = new AgentService({
      config: this.o.config,
      configPath: this.o.configPath,
      logger: this.o.logger,
      onConnected: () => this.onConnected(),
      onUpdateOffer: (offer, url) => {
        // A trial child leaves updating to its parent's decision about it.
        if (this.o.parent && !this.adoptedByParent) return;
        this.updater.offer(offer, url);
      },
    });
    this.agent = agent;
    await agent.start();
  }

  private async stopAgent(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.stop();
  }

  private onConnected(): void {
    const parent = this.o.parent;
    if (parent && !this.trialReported) {
      this.trialReported = true;
      parent.send({ rf: 'connected', version: agentVersion() });
    }
    if (this.watchdog) {
      clearTimeout(this.watchdog);
      this.watchdog = undefined;
      this.markers?.clear();
      this.o.logger.info({ version: agentVersion() }, 'agent: update confirmed: this version connected');
    }
  }

  private listenToParent(parent: ParentChannel): void {
    parent.onMessage((m) => {
      if (!isTrialMessage(m)) return;
      if (m.rf === 'stop') this.stop('the updating agent ended the trial');
      if (m.rf === 'adopted') this.adoptedByParent = true;
    });
    // Without its parent nobody would stop this process with the host's service: go too.
    parent.onDisconnect(() => this.stop('the parent agent went away'));
  }

  private adopt(child: TrialHandle): void {
    this.adoptedChild = child;
    this.o.logger.info(
      { pid: child.pid },
      "agent: the updated agent runs as this process's child (no service manager); signals are passed on",
    );
    void child.exited.then(({ code, signal }) => {
      if (this.stopping) return;
      this.o.logger.warn({ code, signal }, 'agent: the updated agent exited');
      this.o.exit(code ?? 1);
    });
  }

  /**
   * After an update under a service manager: this version must connect within
   * the trial period, else the previous file goes back and the manager restarts
   * it. True when it rolled back at once (the caller must not start the agent).
   */
  private watchUpdateMarker(): boolean {
    const marker = this.markers?.read();
    if (!marker) return false;
    const version = agentVersion();
    if (marker.to_version !== version) {
      this.markers!.clear();
      return false;
    }
    const starts = marker.starts + 1;
    if (starts > MAX_UNCONFIRMED_STARTS) {
      this.rollBackPromoted(`it started ${marker.starts} times without connecting`);
      return true;
    }
    this.markers!.write({ ...marker, starts });
    this.watchdog = setTimeout(
      () => this.rollBackPromoted(`it did not connect within ${UPDATE_TRIAL_MS / 1000} s`),
      UPDATE_TRIAL_MS,
    );
    return false;
  }

  private rollBackPromoted(reason: string): void {
    const log = this.o.logger;
    const restored = this.files?.restorePrevious() ?? false;
    this.markers?.clear();
    log.error(
      { version: agentVersion(), reason, restored },
      restored
        ? `agent: update rolled back: ${reason}; the previous agent file is back, restarting`
        : `agent: update failed (${reason}) and no previous agent file was found; keeping this one`,
    );
    if (!restored) return;
    void this.stopAgent()
      .catch(() => undefined)
      .then(() => {
        log.flush();
        this.o.exit(EXIT_RESTART);
      });
  }
}
