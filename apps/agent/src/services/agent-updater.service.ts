import { isNewerAgentVersion, type WirePayloadMap } from '@rf/events';
import type { AgentLogger } from '../logger';
import type { AgentDownloadRepository } from '../repositories/agent-download.repository';
import type { AgentFileRepository, UpdateMarkerRepository } from '../repositories/agent-file.repository';
import type { TrialAgent, TrialOptions } from '../repositories/trial-agent.repository';

/** The parts of a trial child the updater and the supervisor use. */
export type TrialHandle = Pick<TrialAgent, 'outcome' | 'exited' | 'pid' | 'stop' | 'adopt' | 'signal'>;

export type UpdateOffer = WirePayloadMap['agent.update_available'];

/** A new file gets this long to connect as a trial child (and again after a service-manager restart). */
export const UPDATE_TRIAL_MS = 60_000;
export const UPDATE_DOWNLOAD_TIMEOUT_MS = 120_000;
export const UPDATE_MAX_BYTES = 64 * 1024 * 1024;
/** How often a deferred update looks again whether the jobs have finished. */
export const UPDATE_BUSY_RECHECK_MS = 10_000;

/** What the updater needs from the process that runs the agent (the supervisor). */
export interface UpdateHost {
  /** Jobs queued or running in the in-process agent. */
  activeJobs(): number;
  /** Stops the in-process agent (disconnects, closes its outbox). */
  stopAgent(): Promise<void>;
  /** Starts a fresh in-process agent again (after a failed update). */
  startAgent(): Promise<void>;
  /** No service manager: the connected trial child is the agent now; relay signals to it. */
  adopt(child: TrialHandle): void;
  /** A service manager restarts us with the promoted file. */
  restartThroughServiceManager(): void;
}

export interface AgentUpdaterDeps {
  readonly autoUpdate: boolean;
  readonly currentVersion: string;
  readonly configPath: string;
  /** The single file this agent runs from; undefined when it runs from a source checkout. */
  readonly files:
    | Pick<
        AgentFileRepository,
        'file' | 'candidate' | 'previous' | 'writeCandidate' | 'discardCandidate' | 'promote'
      >
    | undefined;
  readonly markers: Pick<UpdateMarkerRepository, 'write'> | undefined;
  /** systemd or the Windows service wrapper restarts the agent when it exits non-zero. */
  readonly supervised: boolean;
  readonly download: Pick<AgentDownloadRepository, 'fetch'>;
  readonly trials: { start(o: TrialOptions): TrialHandle };
  readonly host: UpdateHost;
  readonly logger: AgentLogger;
  readonly now?: () => Date;
  readonly trialMs?: number;
  readonly busyRecheckMs?: number;
}

type State = 'idle' | 'waiting' | 'updating' | 'handed-over';

/**
 * Self-update of the single-file agent (apps/agent/README.md, "Updates").
 * Offers are only acted on with `auto_update: true` and for a strictly newer
 * version. The file is fetched from the control plane the agent is connected
 * to, with a timeout and a size cap, checked against the offered sha256, and
 * run as a trial child; it replaces the running file only once the control
 * plane has acked the child's hello. Anything else leaves the old agent
 * running, and an offer that failed is not retried by this process.
 */
export class AgentUpdaterService {
  private state: State = 'idle';
  private pending: { offer: UpdateOffer; url: string } | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private readonly failed = new Set<string>();
  private readonly told = new Set<string>();

  constructor(private readonly d: AgentUpdaterDeps) {}

  get busy(): boolean {
    return this.state === 'updating' || this.state === 'handed-over';
  }

  offer(offer: UpdateOffer, serverUrl: string): void {
    const log = this.d.logger;
    const ctx = { version: offer.version, current: this.d.currentVersion };
    if (this.busy) return;
    if (!isNewerAgentVersion(offer.version, this.d.currentVersion)) {
      log.debug(ctx, 'agent: update offer is not newer than this agent; ignored');
      return;
    }
    if (!this.d.autoUpdate) {
      this.once(`manual:${offer.version}`, () =>
        log.info(
          ctx,
          'agent: a newer agent is available; set auto_update: true in agent.yaml to install it automatically, or run the install script again',
        ),
      );
      return;
    }
    if (!this.d.files) {
      this.once(`checkout:${offer.version}`, () =>
        log.info(
          ctx,
          'agent: a newer agent is available, but this one runs from a source checkout; update the checkout and rebuild',
        ),
      );
      return;
    }
    const url = onServer(offer.url, serverUrl);
    if (url === undefined) {
      log.warn({ ...ctx, url: offer.url }, 'agent: update offer refused: its url is not an http(s) URL');
      return;
    }
    if (this.failed.has(offer.sha256)) {
      this.once(`failed:${offer.sha256}`, () =>
        log.info(ctx, 'agent: this update already failed here; not retrying until the agent restarts'),
      );
      return;
    }
    this.pending = { offer, url };
    this.tryNow();
  }

  /** Stops waiting for jobs to finish (agent shutdown). */
  cancel(): void {
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = undefined;
    this.pending = undefined;
    if (this.state === 'waiting') this.state = 'idle';
  }

  private tryNow(): void {
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = undefined;
    const p = this.pending;
    if (!p || this.busy) return;
    const jobs = this.d.host.activeJobs();
    if (jobs > 0) {
      if (this.state !== 'waiting')
        this.d.logger.info(
          { version: p.offer.version, jobs },
          'agent: update deferred until the running jobs have finished',
        );
      this.state = 'waiting';
      this.recheck = setTimeout(() => this.tryNow(), this.d.busyRecheckMs ?? UPDATE_BUSY_RECHECK_MS);
      return;
    }
    this.pending = undefined;
    this.state = 'updating';
    void this.install(p.offer, p.url).catch((err: unknown) => {
      // install() handles its own failures; this only guards against a bug leaving the agent stopped.
      this.d.logger.error({ err: (err as Error).message }, 'agent: update failed unexpectedly');
      this.state = 'idle';
    });
  }

  private async install(offer: UpdateOffer, url: string): Promise<void> {
    const log = this.d.logger;
    const files = this.d.files!;
    const ctx = { version: offer.version, current: this.d.currentVersion };
    log.info({ ...ctx, url }, 'agent: downloading the offered agent');
    let sha256: string;
    let bytes: Buffer;
    try {
      ({ sha256, bytes } = await this.d.download.fetch(url, {
        timeoutMs: UPDATE_DOWNLOAD_TIMEOUT_MS,
        maxBytes: UPDATE_MAX_BYTES,
      }));
    } catch (err) {
      log.error({ ...ctx, err: (err as Error).message }, 'agent: update download failed; keeping this agent');
      this.state = 'idle';
      return;
    }
    if (sha256 !== offer.sha256) {
      this.failed.add(offer.sha256);
      log.error(
        { ...ctx, expected_sha256: offer.sha256, actual_sha256: sha256 },
        'agent: update refused: the downloaded file does not match the offered sha256; keeping this agent',
      );
      this.state = 'idle';
      return;
    }
    try {
      files.writeCandidate(bytes);
    } catch (err) {
      log.error(
        { ...ctx, err: (err as Error).message },
        'agent: cannot write the new agent file; keeping this agent',
      );
      this.state = 'idle';
      return;
    }
    await this.d.host.stopAgent();
    log.info({ ...ctx, file: files.candidate }, 'agent: starting the new agent on trial');
    const trial = this.d.trials.start({
      file: files.candidate,
      configPath: this.d.configPath,
      timeoutMs: this.d.trialMs ?? UPDATE_TRIAL_MS,
    });
    const outcome = await trial.outcome;
    if (outcome.ok) {
      try {
        if (this.d.supervised) await trial.stop(30_000);
        files.promote();
      } catch (err) {
        await this.rollBack(offer, trial, `cannot swap the agent file (${(err as Error).message})`);
        return;
      }
      log.info(
        { ...ctx, file: files.file, previous: files.previous },
        'agent: updated; the new agent is connected',
      );
      if (this.d.supervised) {
        this.d.markers?.write({
          from_version: this.d.currentVersion,
          // What the new file said it is when it connected: the restarted agent checks against it.
          to_version: outcome.version,
          promoted_at: (this.d.now?.() ?? new Date()).toISOString(),
          starts: 0,
        });
        this.state = 'handed-over';
        this.d.host.restartThroughServiceManager();
      } else {
        this.state = 'handed-over';
        trial.adopt();
        this.d.host.adopt(trial);
      }
      return;
    }
    await this.rollBack(offer, trial, outcome.reason);
  }

  private async rollBack(offer: UpdateOffer, trial: TrialHandle, reason: string): Promise<void> {
    this.failed.add(offer.sha256);
    await trial.stop(10_000);
    this.d.files?.discardCandidate();
    this.d.logger.error(
      { version: offer.version, current: this.d.currentVersion, reason },
      `agent: update rolled back: the new agent failed its trial (${reason}); running this agent again`,
    );
    this.state = 'idle';
    await this.d.host.startAgent();
  }

  private once(key: string, say: () => void): void {
    if (this.told.has(key)) return;
    this.told.add(key);
    say();
  }
}

/**
 * The offered file's path on the control plane this agent is connected to:
 * the agent only ever downloads from the server it authenticated to, whatever
 * host name the offer carries (RF_PUBLIC_URL may differ from agent.yaml's).
 */
export function onServer(offerUrl: string, serverUrl: string): string | undefined {
  try {
    const offered = new URL(offerUrl);
    const server = new URL(serverUrl);
    if (offered.protocol !== 'http:' && offered.protocol !== 'https:') return undefined;
    return new URL(offered.pathname + offered.search, server.origin).toString();
  } catch {
    return undefined;
  }
}
