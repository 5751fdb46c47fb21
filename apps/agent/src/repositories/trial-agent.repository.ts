import { spawn, type ChildProcess } from 'node:child_process';

/** Set in a trial child's environment; with an IPC channel it reports back to its parent. */
export const TRIAL_ENV = 'RF_AGENT_TRIAL';

/** Parent ⇄ trial child messages over the IPC channel. */
export type TrialMessage =
  | { rf: 'connected'; version: string } // child → parent: the control plane acked my hello
  | { rf: 'stop' } // parent → child: stop gracefully and exit
  | { rf: 'adopted' }; // parent → child: you are the agent now; keep running

export function isTrialMessage(v: unknown): v is TrialMessage {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  return (m.rf === 'connected' && typeof m.version === 'string') || m.rf === 'stop' || m.rf === 'adopted';
}

export type TrialOutcome = { ok: true; version: string } | { ok: false; reason: string };

export interface ChildExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A candidate agent file running as a child of the current agent until it proves it connects. */
export class TrialAgent {
  readonly outcome: Promise<TrialOutcome>;
  readonly exited: Promise<ChildExitStatus>;

  constructor(
    private readonly child: ChildProcess,
    timeoutMs: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.outcome = new Promise((resolve) => {
      const timer = setTimeout(
        () => resolve({ ok: false, reason: `it did not connect within ${timeoutMs / 1000} s` }),
        timeoutMs,
      );
      child.on('message', (m: unknown) => {
        if (isTrialMessage(m) && m.rf === 'connected') {
          clearTimeout(timer);
          resolve({ ok: true, version: m.version });
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        resolve({ ok: false, reason: `it could not be started (${err.message})` });
      });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        resolve({ ok: false, reason: `it exited (${signal ?? `code ${code}`}) before it connected` });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Asks the child to stop gracefully; SIGKILL if it has not exited after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<ChildExitStatus> {
    if (this.running) {
      if (!this.tell({ rf: 'stop' })) this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      const status = await this.exited;
      clearTimeout(t);
      return status;
    }
    return this.exited;
  }

  adopt(): void {
    this.tell({ rf: 'adopted' });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  private tell(m: TrialMessage): boolean {
    if (!this.child.connected) return false;
    try {
      this.child.send(m);
      return true;
    } catch {
      return false;
    }
  }
}

export interface TrialOptions {
  file: string;
  configPath: string;
  timeoutMs: number;
}

/** Starts `node <file> run --config <path>` with an IPC channel, its output going where ours goes. */
export class TrialAgentRepository {
  start(o: TrialOptions): TrialAgent {
    const child = spawn(process.execPath, [o.file, 'run', '--config', o.configPath], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [TRIAL_ENV]: '1' },
      windowsHide: true,
    });
    return new TrialAgent(child, o.timeoutMs);
  }
}
