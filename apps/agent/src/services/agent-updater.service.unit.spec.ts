import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { ChildExitStatus, TrialOptions, TrialOutcome } from '../repositories/trial-agent.repository';
import {
  AgentUpdaterService,
  onServer,
  type AgentUpdaterDeps,
  type TrialHandle,
  type UpdateOffer,
} from './agent-updater.service';

const NEW_FILE = Buffer.from('// restic-fleet-agent 0.2.0\n');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const SERVER = 'http://cp-2.internal:8080';
const OFFER: UpdateOffer = {
  version: '0.2.0',
  sha256: sha(NEW_FILE),
  url: 'https://fleet.example/agent/restic-fleet-agent.js',
};

/** A trial child that connects, exits early or never answers, as the test says. */
function fakeTrial(outcome: TrialOutcome, calls: string[]): TrialHandle {
  let exit: (s: ChildExitStatus) => void = () => undefined;
  const exited = new Promise<ChildExitStatus>((r) => (exit = r));
  return {
    outcome: Promise.resolve(outcome),
    exited,
    pid: 4242,
    stop: async () => {
      calls.push('trial.stop');
      exit({ code: 0, signal: null });
      return exited;
    },
    adopt: () => void calls.push('trial.adopt'),
    signal: (s) => void calls.push(`trial.signal ${s}`),
  };
}

interface Harness {
  updater: AgentUpdaterService;
  calls: string[];
  logs: string[];
  trials: TrialOptions[];
  downloads: string[];
  settle(): Promise<void>;
  setJobs(n: number): void;
}

function harness(o: Partial<AgentUpdaterDeps> & { outcome?: TrialOutcome; served?: Buffer } = {}): Harness {
  const calls: string[] = [];
  const logs: string[] = [];
  const trials: TrialOptions[] = [];
  const downloads: string[] = [];
  let jobs = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const served = o.served ?? NEW_FILE;
  const deps: AgentUpdaterDeps = {
    autoUpdate: true,
    currentVersion: '0.1.0',
    configPath: '/opt/rf/agent.yaml',
    supervised: false,
    files: {
      file: '/opt/rf/restic-fleet-agent.js',
      candidate: '/opt/rf/restic-fleet-agent.js.new',
      previous: '/opt/rf/restic-fleet-agent.js.prev',
      writeCandidate: (b: Buffer) => {
        calls.push(`files.writeCandidate ${sha(b).slice(0, 8)}`);
        return '/opt/rf/restic-fleet-agent.js.new';
      },
      discardCandidate: () => void calls.push('files.discardCandidate'),
      promote: () => void calls.push('files.promote'),
    },
    markers: { write: (m) => void calls.push(`markers.write ${m.from_version}->${m.to_version}`) },
    download: {
      fetch: async (url) => {
        downloads.push(url);
        return { bytes: served, sha256: sha(served) };
      },
    },
    trials: {
      start: (t) => {
        trials.push(t);
        calls.push('trials.start');
        return fakeTrial(o.outcome ?? { ok: true, version: '0.2.0' }, calls);
      },
    },
    host: {
      activeJobs: () => jobs,
      stopAgent: async () => void calls.push('host.stopAgent'),
      startAgent: async () => void calls.push('host.startAgent'),
      adopt: () => void calls.push('host.adopt'),
      restartThroughServiceManager: () => void calls.push('host.restart'),
    },
    logger: pino({ level: 'debug' }, sink),
    busyRecheckMs: 20,
    ...o,
  };
  return {
    updater: new AgentUpdaterService(deps),
    calls,
    logs,
    trials,
    downloads,
    settle: () => new Promise((r) => setTimeout(r, 50)),
    setJobs: (n) => (jobs = n),
  };
}

describe('agent self-update decisions', () => {
  it('installs a newer verified offer: trial child first, swap only once it connected, then adopt it', async () => {
    const h = harness();
    h.updater.offer(OFFER, SERVER);
    await h.settle();
    assert.deepEqual(h.calls, [
      `files.writeCandidate ${OFFER.sha256.slice(0, 8)}`,
      'host.stopAgent',
      'trials.start',
      'files.promote',
      'trial.adopt',
      'host.adopt',
    ]);
    assert.equal(h.trials[0]!.file, '/opt/rf/restic-fleet-agent.js.new');
    assert.equal(h.trials[0]!.timeoutMs, 60_000);
    assert.equal(h.updater.busy, true, 'a handed-over agent takes no further offers');
  });

  it('always downloads from the control plane it is connected to, whatever host the offer names', async () => {
    const h = harness();
    h.updater.offer(OFFER, SERVER);
    await h.settle();
    assert.deepEqual(h.downloads, ['http://cp-2.internal:8080/agent/restic-fleet-agent.js']);
    assert.equal(onServer('ftp://x/agent.js', SERVER), undefined);
  });

  it('under a service manager: stops the trial child, swaps, leaves a marker and asks for a restart', async () => {
    const h = harness({ supervised: true });
    h.updater.offer(OFFER, SERVER);
    await h.settle();
    assert.deepEqual(h.calls.slice(2), [
      'trials.start',
      'trial.stop',
      'files.promote',
      'markers.write 0.1.0->0.2.0',
      'host.restart',
    ]);
  });

  it('refuses a download that does not match the offered sha256 and keeps the running agent untouched', async () => {
    const h = harness({ served: Buffer.from('corrupted') });
    h.updater.offer(OFFER, SERVER);
    await h.settle();
    assert.deepEqual(h.calls, [], 'nothing written, agent never stopped');
    assert.ok(h.logs.some((l) => l.includes('does not match the offered sha256')));
    // The same offer again (next hello) is not downloaded again.
    h.updater.offer(OFFER, SERVER);
    await h.settle();
    assert.equal(h.downloads.length, 1);
    assert.ok(h.logs.some((l) => l.includes('already failed here')));
  });

  it('rolls back when the new file does not connect (crash at load or timeout): old agent starts again', async () => {
    const h = harness({ outcome: { ok: false, reason: 'it exited (code 1) before it connected' } });
    h.updater.offer(OFFER, SERVER);
    await h.settle();
    assert.deepEqual(h.calls.slice(1), [
      'host.stopAgent',
      'trials.start',
      'trial.stop',
      'files.discardCandidate',
      'host.startAgent',
    ]);
    assert.ok(h.logs.some((l) => l.includes('update rolled back') && l.includes('exited (code 1)')));
    assert.equal(h.updater.busy, false);
  });

  it('ignores offers that are not newer, and only logs them when auto_update is off', async () => {
    const same = harness();
    same.updater.offer({ ...OFFER, version: '0.1.0' }, SERVER);
    same.updater.offer({ ...OFFER, version: '0.0.9' }, SERVER);
    await same.settle();
    assert.deepEqual([same.calls, same.downloads], [[], []]);

    const manual = harness({ autoUpdate: false });
    manual.updater.offer(OFFER, SERVER);
    manual.updater.offer(OFFER, SERVER);
    await manual.settle();
    assert.deepEqual(manual.downloads, []);
    assert.equal(manual.logs.filter((l) => l.includes('auto_update: true')).length, 1, 'said once');

    const checkout = harness({ files: undefined });
    checkout.updater.offer(OFFER, SERVER);
    await checkout.settle();
    assert.deepEqual(checkout.downloads, []);
    assert.ok(checkout.logs.some((l) => l.includes('source checkout')));
  });

  it('waits for running jobs to finish before it stops the agent', async () => {
    const h = harness();
    h.setJobs(1);
    h.updater.offer(OFFER, SERVER);
    await h.settle();
    assert.equal(h.calls.length, 0, 'the agent keeps running while a job runs');
    assert.ok(h.logs.some((l) => l.includes('deferred until the running jobs have finished')));
    h.setJobs(0);
    await h.settle();
    assert.equal(h.calls.includes('files.promote'), true);
  });
});
