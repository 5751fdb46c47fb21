import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { legacyRepositoryId, type RecordedEvent } from '@rf/events';
import { FleetState } from './fleet-state';
import { eventRecorder } from './recorded-events.test-harness';
import { fleetStateSnapshotCodec } from '../services/fleet-state.snapshot';

const recorded = eventRecorder();

const at = '2026-01-01T00:00:00.000Z';

describe('FleetState', () => {
  it('folds a job through its lifecycle and keeps queued jobs in request order', () => {
    const s = new FleetState();
    s.apply(
      recorded('host-h1', 'HostEnrolled', {
        host_id: 'h1',
        hostname: 'web-1',
        os: 'linux',
        arch: 'amd64',
        agent_secret_hash: 'x',
        enrolment_token_id: 't',
        enrolled_at: at,
      }),
    );
    for (const id of ['j1', 'j2', 'j3']) {
      s.apply(
        recorded(`job-${id}`, 'JobRequested', {
          job_id: id,
          host_id: 'h1',
          kind: 'check',
          args: {},
          requested_at: at,
        }),
      );
    }
    assert.deepEqual(
      s.queuedJobs('h1').map((j) => j.jobId),
      ['j1', 'j2', 'j3'],
    );
    s.apply(recorded('job-j1', 'JobDispatched', { job_id: 'j1', host_id: 'h1', dispatched_at: at }));
    assert.equal(s.jobs.get('j1')!.status, 'dispatched');
    s.apply(recorded('job-j1', 'JobAccepted', { job_id: 'j1', accepted_at: at }));
    // Accepted is a fact, not a move: the agent may hold the job before it starts (see job-lifecycle).
    assert.equal(s.jobs.get('j1')!.status, 'dispatched');
    assert.equal(s.jobs.get('j1')!.accepted, true);
    assert.deepEqual(
      s.activeJobs('h1').map((j) => j.jobId),
      ['j1'],
    );
    s.apply(
      recorded('job-j1', 'JobFinished', { job_id: 'j1', status: 'warning', exit_code: 3, finished_at: at }),
    );
    assert.equal(s.jobs.get('j1')!.status, 'warning');
    assert.equal(s.jobs.get('j1')!.revision, 3);
    s.apply(recorded('job-j2', 'JobRejected', { job_id: 'j2', error: 'busy', rejected_at: at }));
    assert.equal(s.jobs.get('j2')!.status, 'failed');
    assert.deepEqual(
      s.queuedJobs('h1').map((j) => j.jobId),
      ['j3'],
    );
  });

  it('ignores an event delivered twice (same or older position)', () => {
    const s = new FleetState();
    const req = recorded('job-x', 'JobRequested', {
      job_id: 'x',
      host_id: 'h',
      kind: 'unlock',
      args: {},
      requested_at: at,
    });
    const lost = recorded('job-x', 'JobLost', { job_id: 'x', host_id: 'h', reason: 'away', lost_at: at });
    s.apply(req);
    s.apply(lost);
    s.apply(req);
    assert.equal(s.jobs.get('x')!.status, 'lost');
  });

  it('tracks presence, repository and revocation of a host, and schedule versions', () => {
    const s = new FleetState();
    s.apply(
      recorded('host-h2', 'AgentConnected', {
        host_id: 'h2',
        protocol_version: 1,
        agent_version: '1',
        restic_version: '0.14.0',
        hostname: 'db-1',
        os: 'linux',
        arch: 'arm64',
        connected_at: at,
      }),
    );
    assert.equal(s.hosts.get('h2')!.connectedInLog, true);
    s.apply(
      recorded('host-h2', 'AgentDisconnected', {
        host_id: 'h2',
        reason: 'closed',
        disconnected_at: '2026-01-01T00:05:00.000Z',
      }),
    );
    assert.equal(s.hosts.get('h2')!.connectedInLog, false);
    assert.equal(s.hosts.get('h2')!.disconnectedAt, Date.parse('2026-01-01T00:05:00.000Z'));
    const sealed = { alg: 'aes-256-gcm', key_id: 'k1', iv: 'aXY=', tag: 'dGFn', ciphertext: 'Y3Q=' };
    s.apply(
      recorded('host-h2', 'RepositoryConfigured', { host_id: 'h2', url: 'local:/r', password: sealed }),
    );
    const own = s.repositories.repositories.get(legacyRepositoryId('h2'));
    assert.equal(own?.url, 'local:/r');
    assert.deepEqual(own?.host_ids, ['h2'], 'the host is attached to its own repository');
    assert.deepEqual(own?.secrets?.password, sealed);
    s.apply(recorded('host-h2', 'HostRevoked', { host_id: 'h2', revoked_at: at }));
    assert.equal(s.hosts.get('h2')!.revoked, true);
    assert.equal(s.hosts.get('h2')!.revision, 3);
    s.apply(recorded('schedules-h2', 'SchedulesChanged', { host_id: 'h2', version: 1, schedules: [] }));
    s.apply(recorded('schedules-h2', 'SchedulesApplied', { host_id: 'h2', version: 1, applied_at: at }));
    assert.deepEqual(
      {
        version: s.schedules.get('h2')!.version,
        applied: s.schedules.get('h2')!.appliedVersion,
        revision: s.schedules.get('h2')!.revision,
      },
      { version: 1, applied: 1, revision: 1 },
    );
  });

  describe('retention of terminal jobs (by log time)', () => {
    const DAY = 86_400_000;
    const T = Date.parse('2026-03-01T00:00:00.000Z');
    const day = (n: number) => new Date(T + n * DAY).toISOString();
    const request = (id: string, d: number) =>
      recorded(
        `job-${id}`,
        'JobRequested',
        { job_id: id, host_id: 'h', kind: 'check', args: {}, requested_at: day(d) },
        day(d),
      );
    const finish = (id: string, d: number, status = 'succeeded') =>
      recorded(`job-${id}`, 'JobFinished', { job_id: id, status, exit_code: 0, finished_at: day(d) }, day(d));
    const lose = (id: string, d: number) =>
      recorded(`job-${id}`, 'JobLost', { job_id: id, host_id: 'h', reason: 'away', lost_at: day(d) }, day(d));
    const tick = (d: number) =>
      recorded(
        'host-h',
        'AgentConnected',
        {
          host_id: 'h',
          protocol_version: 1,
          agent_version: '1',
          restic_version: '0.17.0',
          hostname: 'h',
          os: 'linux',
          arch: 'amd64',
          connected_at: day(d),
        },
        day(d),
      );

    it('lets a finished job go once the log has moved 7 days past it, and keeps counting it', () => {
      const s = new FleetState();
      s.apply(request('old', 0));
      s.apply(finish('old', 0, 'warning'));
      s.apply(request('open', 1));
      s.apply(tick(7));
      assert.ok(s.jobs.has('old'), 'exactly 7 days is still kept');
      s.apply(tick(7.001));
      assert.equal(s.jobs.has('old'), false);
      assert.ok(s.jobs.has('open'), 'a job that is not terminal stays, however old');
      assert.equal(s.jobCounts().get('warning'), 1);
      assert.equal(s.jobCounts().get('queued'), 1);
      // Events of a job let go of change nothing.
      s.apply(finish('old', 8, 'failed'));
      assert.equal(s.jobs.has('old'), false);
      assert.equal(s.jobCounts().get('failed'), undefined);
    });

    it('keeps a lost job 90 days, so a late JobFinished after JobLost is still taken', () => {
      const s = new FleetState();
      s.apply(request('away', 0));
      s.apply(lose('away', 1));
      s.apply(tick(60));
      assert.equal(s.jobs.get('away')?.status, 'lost');
      s.apply(finish('away', 61));
      assert.equal(s.jobs.get('away')?.status, 'succeeded');
      s.apply(tick(68.5));
      assert.equal(s.jobs.has('away'), false, 'now a finished job: 7 days after its last change');
      s.apply(request('gone', 100));
      s.apply(lose('gone', 100));
      s.apply(tick(190.5));
      assert.equal(s.jobs.has('gone'), false);
      assert.deepEqual(
        [...s.retired],
        [
          ['succeeded', 1],
          ['lost', 1],
        ],
      );
    });

    it('retires in the order jobs last changed, whatever order they were requested in', () => {
      const s = new FleetState();
      s.apply(request('a', 0));
      s.apply(request('b', 0));
      s.apply(finish('b', 1));
      s.apply(finish('a', 3));
      s.apply(tick(8.5));
      assert.deepEqual([...s.jobs.keys()], ['a']);
      assert.deepEqual([...s.finishedQueue.keys()], ['a']);
    });
  });

  describe('snapshot', () => {
    const DAY = 86_400_000;
    const T = Date.parse('2026-05-01T00:00:00.000Z');
    const when = (d: number) => new Date(T + d * DAY).toISOString();
    /** Hosts, schedules and jobs over 30 days: some finish, some are lost, some are let go of. */
    const history = (): RecordedEvent[] => {
      const out: RecordedEvent[] = [];
      const sealed = { alg: 'aes-256-gcm', key_id: 'k1', iv: 'aXY=', tag: 'dGFn', ciphertext: 'Y3Q=' };
      out.push(
        recorded(
          'host-s1',
          'HostEnrolled',
          {
            host_id: 's1',
            hostname: 'app-1',
            os: 'linux',
            arch: 'amd64',
            agent_secret_hash: 'x',
            enrolment_token_id: 't',
            enrolled_at: when(0),
          },
          when(0),
        ),
        recorded(
          'host-s1',
          'RepositoryConfigured',
          { host_id: 's1', url: 'local:/r', username: 'u', password: sealed, credential: sealed },
          when(0),
        ),
        recorded(
          'schedules-s1',
          'SchedulesChanged',
          {
            host_id: 's1',
            version: 2,
            schedules: [{ id: 'n', kind: 'backup', cron: '0 2 * * *', enabled: true, paths: ['/srv'] }],
          },
          when(0),
        ),
      );
      for (let d = 1; d <= 30; d++) {
        const id = `s-${d}`;
        out.push(
          recorded(
            `job-${id}`,
            'JobRequested',
            {
              job_id: id,
              host_id: 's1',
              kind: 'backup',
              args: { paths: ['/srv'] },
              schedule_id: 'n',
              requested_at: when(d),
            },
            when(d),
          ),
          recorded(
            `job-${id}`,
            'JobDispatched',
            { job_id: id, host_id: 's1', dispatched_at: when(d) },
            when(d),
          ),
        );
        if (d % 5 === 0)
          out.push(
            recorded(
              `job-${id}`,
              'JobLost',
              { job_id: id, host_id: 's1', reason: 'away', lost_at: when(d + 0.5) },
              when(d + 0.5),
            ),
          );
        else if (d < 29)
          out.push(
            recorded(
              `job-${id}`,
              'JobFinished',
              { job_id: id, status: 'succeeded', exit_code: 0, finished_at: when(d + 0.1) },
              when(d + 0.1),
            ),
          );
        if (d % 7 === 0)
          out.push(
            recorded(
              'host-s1',
              'AgentDisconnected',
              { host_id: 's1', reason: 'closed', disconnected_at: when(d) },
              when(d),
            ),
          );
      }
      out.push(
        recorded('job-s-29', 'JobCancelRequested', { job_id: 's-29', requested_at: when(30) }, when(30)),
        recorded(
          'repository-r1',
          'RepositoryRegistered',
          { repository_id: 'r1', name: 'shared', url: 'local:/shared' },
          when(30),
        ),
        recorded('repository-r1', 'RepositoryAttached', { repository_id: 'r1', host_id: 's1' }, when(30)),
        recorded(
          'repository-r1',
          'RepositorySchedulesChanged',
          {
            repository_id: 'r1',
            version: 1,
            schedules: [{ id: 'p', kind: 'prune', cron: '0 3 * * 0', enabled: true }],
          },
          when(30),
        ),
      );
      return out;
    };

    it('a state restored from its snapshot and fed the rest of the log equals the replayed one', () => {
      const events = history();
      const codec = fleetStateSnapshotCodec();
      for (const cut of [0, 1, 17, events.length - 5, events.length]) {
        const before = new FleetState();
        for (const e of events.slice(0, cut)) before.apply(e);
        const restored = codec.decode(JSON.parse(JSON.stringify(codec.encode(before))));
        const replayed = new FleetState();
        events.forEach((e, i) => {
          replayed.apply(e);
          if (i >= cut) restored.apply(e);
        });
        assert.deepEqual(codec.encode(restored), codec.encode(replayed), `cut at ${cut}`);
        assert.deepEqual([...restored.jobs.keys()], [...replayed.jobs.keys()]);
        assert.deepEqual(restored.jobs.get('s-29'), replayed.jobs.get('s-29'));
        assert.deepEqual([...restored.openJobs.keys()], [...replayed.openJobs.keys()]);
        assert.deepEqual(restored.repositories, replayed.repositories);
      }
      const final = new FleetState();
      for (const e of events) final.apply(e);
      assert.ok(final.retired.get('succeeded')! > 0, 'the history lets jobs go');
      assert.equal(final.jobs.get('s-25')?.status, 'lost');
      assert.deepEqual([...final.openJobs.keys()], ['s-29'], 'only jobs not yet terminal are open');
      assert.deepEqual(final.repositories.repositories.get('r1')?.host_ids, ['s1']);
      assert.equal(final.repositories.repositories.get('r1')?.schedules?.version, 1);
      assert.equal(final.repositoryRevisions.get('r1'), 2);
    });

    it('refuses a body that is not a fleet state, naming what is wrong', () => {
      const codec = fleetStateSnapshotCodec();
      const good = codec.encode(new FleetState()) as Record<string, unknown>;
      assert.throws(() => codec.decode('nope'), /snapshot must be an object/);
      assert.throws(() => codec.decode({ ...good, jobs: {} }), /jobs must be an array/);
      assert.throws(
        () => codec.decode({ ...good, finished: ['ghost'] }),
        /finished names a job the snapshot does not hold/,
      );
      assert.throws(
        () => codec.decode({ ...good, jobs: [{ jobId: 'x', kind: 'nap' }] }),
        /job kind nap is not a job kind/,
      );
    });
  });
});
