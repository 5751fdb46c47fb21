import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobLockClaims, type JobKind } from '@rf/events';
import {
  type CoordinatedJob,
  decideDispatch,
  describeWait,
  type HoldingJob,
  holdersCompatible,
} from './repository-lock.coordinator';

let seq = 0;
function job(kind: JobKind, repository_id: string, host_id = 'h1', to?: string): CoordinatedJob {
  seq++;
  return {
    job_id: `${kind}-${seq}`,
    kind,
    host_id,
    claims: jobLockClaims({ kind, repository_id, args: to ? { to_repository_id: to } : {} }),
  };
}
const running = (j: CoordinatedJob): HoldingJob => ({ ...j, state: 'running' });
const everyoneOnline = (): boolean => true;
const ids = (jobs: readonly CoordinatedJob[]): string[] => jobs.map((j) => j.job_id);
const decide = (
  holding: HoldingJob[],
  queued: CoordinatedJob[],
  isOnline: (hostId: string) => boolean = everyoneOnline,
) => decideDispatch({ holding, queued, isOnline });

describe('decideDispatch: one repository', () => {
  it('shared jobs from many hosts go together on a free repository', () => {
    const q = [job('backup', 'r', 'h1'), job('backup', 'r', 'h2'), job('restore', 'r', 'h3')];
    const d = decide([], q);
    assert.deepEqual(ids(d.dispatch), ids(q));
    assert.equal(d.waiting.size, 0);
  });

  it('an exclusive job goes only when nobody holds the repository', () => {
    const b = running(job('backup', 'r', 'h1'));
    const prune = job('prune', 'r', 'h2');
    const held = decide([b], [prune]);
    assert.deepEqual(ids(held.dispatch), []);
    assert.deepEqual(held.waiting.get(prune.job_id), {
      code: 'repository_held',
      repository_id: 'r',
      blocking: b,
    });
    assert.deepEqual(ids(decide([], [prune]).dispatch), [prune.job_id]);
  });

  it('new shared jobs wait behind a queued exclusive one (no starvation of maintenance)', () => {
    const b1 = running(job('backup', 'r', 'h1'));
    const prune = job('prune', 'r', 'h2');
    const b2 = job('backup', 'r', 'h3');
    const d = decide([b1], [prune, b2]);
    assert.deepEqual(ids(d.dispatch), []);
    assert.deepEqual(d.waiting.get(b2.job_id), {
      code: 'queued_behind',
      repository_id: 'r',
      blocking: prune,
    });
  });

  it('shared jobs requested while an exclusive one runs wait for it, then go together', () => {
    const prune = running(job('prune', 'r', 'h1'));
    const q = [job('backup', 'r', 'h1'), job('backup', 'r', 'h2'), job('backup', 'r', 'h3')];
    const d = decide([prune], q);
    assert.deepEqual(ids(d.dispatch), []);
    for (const j of q) assert.equal(d.waiting.get(j.job_id)?.code, 'repository_held');
    assert.deepEqual(ids(decide([], q).dispatch), ids(q));
  });

  it('two exclusive jobs never run at once; the second waits behind the first', () => {
    const forget = job('forget', 'r', 'h1');
    const check = job('check', 'r', 'h2');
    const d = decide([], [forget, check]);
    assert.deepEqual(ids(d.dispatch), [forget.job_id]);
    assert.deepEqual(d.waiting.get(check.job_id)?.code, 'repository_held');
  });

  it('an exclusive job does not overtake earlier waiting shared jobs (no starvation of backups)', () => {
    const prune1 = running(job('prune', 'r', 'h1'));
    const b = job('backup', 'r', 'h2');
    const prune2 = job('prune', 'r', 'h3');
    const d1 = decide([prune1], [b, prune2]);
    assert.equal(d1.waiting.get(prune2.job_id)?.code, 'repository_held');
    // prune1 ends: the backup goes first, prune2 waits for it.
    const d2 = decide([], [b, prune2]);
    assert.deepEqual(ids(d2.dispatch), [b.job_id]);
    assert.deepEqual(d2.waiting.get(prune2.job_id), {
      code: 'repository_held',
      repository_id: 'r',
      blocking: { ...b, state: 'dispatched' },
    });
  });

  it('lock-free kinds (init, unlock) never wait and never hold anyone up', () => {
    const prune = running(job('prune', 'r'));
    const unlock = job('unlock', 'r', 'h2');
    const init = job('init', 'r', 'h3');
    assert.deepEqual(ids(decide([prune], [unlock, init]).dispatch), [unlock.job_id, init.job_id]);
    const b = job('backup', 'r');
    assert.deepEqual(ids(decide([running(unlock)], [b]).dispatch), [b.job_id]);
  });
});

describe('decideDispatch: across repositories and hosts', () => {
  it('a prune on one repository holds up nothing on another', () => {
    const prune = running(job('prune', 'r1', 'h1'));
    const q = [job('backup', 'r2', 'h1'), job('forget', 'r3', 'h2')];
    assert.deepEqual(ids(decide([prune], q).dispatch), ids(q));
  });

  it('a copy needs both of its repositories: shared on each', () => {
    const pruneDst = running(job('prune', 'dst', 'h2'));
    const copy = job('copy', 'src', 'h1', 'dst');
    const d = decide([pruneDst], [copy]);
    assert.deepEqual(d.waiting.get(copy.job_id), {
      code: 'repository_held',
      repository_id: 'dst',
      blocking: pruneDst,
    });
    const backupSrc = running(job('backup', 'src', 'h3'));
    assert.deepEqual(ids(decide([backupSrc], [copy]).dispatch), [copy.job_id]);
  });

  it('a copy waiting for its destination lets shared jobs on its source pass, but not an exclusive one', () => {
    const pruneDst = running(job('prune', 'dst', 'h2'));
    const copy = job('copy', 'src', 'h1', 'dst');
    const backupSrc = job('backup', 'src', 'h3');
    const forgetSrc = job('forget', 'src', 'h3');
    const d = decide([pruneDst], [copy, backupSrc, forgetSrc]);
    assert.deepEqual(ids(d.dispatch), [backupSrc.job_id]);
    assert.equal(d.waiting.get(forgetSrc.job_id)?.code, 'repository_held');
    // Once the backup ends, the forget still waits for the earlier copy.
    const d2 = decide([pruneDst], [copy, forgetSrc]);
    assert.deepEqual(d2.waiting.get(forgetSrc.job_id), {
      code: 'queued_behind',
      repository_id: 'src',
      blocking: copy,
    });
  });

  it('a job for an offline host waits without holding anyone up', () => {
    const prune = job('prune', 'r', 'offline');
    const b = job('backup', 'r', 'h2');
    const d = decide([], [prune, b], (h) => h !== 'offline');
    assert.deepEqual(ids(d.dispatch), [b.job_id]);
    assert.deepEqual(d.waiting.get(prune.job_id), { code: 'host_offline', host_id: 'offline' });
  });

  it('three hosts back up into one repository while a prune is requested: the prune waits, later backups wait for it', () => {
    const backups = ['h1', 'h2', 'h3'].map((h) => running(job('backup', 'shared', h)));
    const prune = job('prune', 'shared', 'h1');
    const late = job('backup', 'shared', 'h2');
    let d = decide(backups, [prune, late]);
    assert.deepEqual(ids(d.dispatch), []);
    d = decide(backups.slice(1), [prune, late]);
    assert.deepEqual(ids(d.dispatch), [], 'the prune waits for every running backup');
    d = decide([], [prune, late]);
    assert.deepEqual(ids(d.dispatch), [prune.job_id]);
    d = decide([running(prune)], [late]);
    assert.deepEqual(ids(d.dispatch), []);
    assert.deepEqual(ids(decide([], [late]).dispatch), [late.job_id]);
  });
});

describe('describeWait', () => {
  const names = {
    repository: (id: string) => ({ r: 'offsite' })[id],
    host: (id: string) => ({ h2: 'web-2' })[id],
  };
  it('says what the job waits for, naming repository and host', () => {
    const prune = running(job('prune', 'r', 'h2'));
    const b = job('backup', 'r', 'h1');
    const d = decide([prune], [b]);
    assert.equal(
      describeWait(d.waiting.get(b.job_id)!, names),
      'waiting for prune on repository offsite, running on host web-2',
    );
    const queued = job('forget', 'r', 'h2');
    const later = job('backup', 'r', 'h9');
    const d2 = decide([{ ...job('backup', 'r', 'h2'), state: 'dispatched' }], [queued, later]);
    assert.equal(
      describeWait(d2.waiting.get(later.job_id)!, names),
      'waiting behind forget queued on repository offsite for host web-2',
    );
    assert.equal(
      describeWait(d2.waiting.get(queued.job_id)!, names),
      'waiting for backup on repository offsite, dispatched to host web-2',
    );
    assert.equal(
      describeWait({ code: 'host_offline', host_id: 'h7' }, names),
      'waiting for host h7 to come online',
      'unknown names fall back to ids',
    );
  });
});

/** A deterministic PRNG so a failing sequence can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('decideDispatch: fairness sequences (simulated fleet)', () => {
  const KINDS: JobKind[] = [
    'backup',
    'backup',
    'backup',
    'restore',
    'snapshots',
    'forget',
    'prune',
    'check',
    'copy',
    'unlock',
  ];
  const REPOS = ['r1', 'r2', 'r3', 'r4'];
  const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];

  for (const seed of [1, 2, 3, 42, 1234, 99_999]) {
    it(`seed ${seed}: never a conflicting pair on a repository, strict order among conflicting jobs, every job served`, () => {
      const rnd = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
      const holding: Array<HoldingJob & { endsAt: number }> = [];
      let queued: CoordinatedJob[] = [];
      const requestedAt = new Map<string, number>();
      const dispatchedAt = new Map<string, number>();
      const offline = new Set<string>();
      const reasons = new Set<string>();
      let requested = 0;
      const STEPS = 600;
      for (let step = 0; step < STEPS || queued.length > 0 || holding.length > 0; step++) {
        assert.ok(step < STEPS + 2000, 'the queue drains once requests stop (no starvation, no deadlock)');
        // Jobs end after 1-6 steps; hosts drop off and come back; new requests arrive until STEPS.
        for (let i = holding.length - 1; i >= 0; i--) if (holding[i].endsAt <= step) holding.splice(i, 1);
        if (step < STEPS && rnd() < 0.05) offline.add(pick(HOSTS));
        if (rnd() < 0.2 || step >= STEPS) offline.delete(pick(HOSTS));
        if (step >= STEPS) offline.clear();
        if (step < STEPS) {
          for (let n = Math.floor(rnd() * 3); n > 0; n--) {
            const kind = pick(KINDS);
            const repo = pick(REPOS);
            const to = kind === 'copy' ? pick(REPOS.filter((r) => r !== repo)) : undefined;
            const j = job(kind, repo, pick(HOSTS), to);
            queued.push(j);
            requestedAt.set(j.job_id, requested++);
          }
        }
        const d = decideDispatch({ holding, queued, isOnline: (h) => !offline.has(h) });
        // Every queued job is either dispatched or has a reason.
        assert.equal(d.dispatch.length + d.waiting.size, queued.length);
        for (const r of d.waiting.values()) reasons.add(r.code);
        for (const j of d.dispatch) {
          assert.equal(offline.has(j.host_id), false);
          // Strict order: no earlier conflicting job on a shared repository is still queued.
          for (const earlier of queued) {
            if (earlier === j) break;
            if (!d.waiting.has(earlier.job_id) || offline.has(earlier.host_id)) continue;
            for (const c of j.claims)
              for (const e of earlier.claims)
                if (c.repository_id === e.repository_id)
                  assert.ok(
                    c.lock === 'shared' && e.lock === 'shared',
                    `${j.job_id} overtook the conflicting ${earlier.job_id} on ${c.repository_id}`,
                  );
          }
          dispatchedAt.set(j.job_id, step);
          holding.push({ ...j, state: 'running', endsAt: step + 1 + Math.floor(rnd() * 6) });
        }
        const sent = new Set(ids(d.dispatch));
        queued = queued.filter((j) => !sent.has(j.job_id));
        // Safety: the jobs holding each repository could all hold it at once.
        for (const repo of REPOS) {
          const locks = holding.flatMap((h) =>
            h.claims.filter((c) => c.repository_id === repo).map((c) => c.lock),
          );
          assert.ok(
            holdersCompatible(locks),
            `conflicting holders on ${repo} at step ${step}: ${locks.join(',')}`,
          );
        }
      }
      assert.equal(dispatchedAt.size, requested, 'every requested job was dispatched');
      assert.deepEqual(
        [...reasons].sort(),
        ['host_offline', 'queued_behind', 'repository_held'],
        'the run met every case',
      );
    });
  }
});
