import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedEvent } from '@rf/events';
import { FleetState } from './fleet-state';

let position = 0n;
const revisions = new Map<string, number>();

/** A recorded event as the store would deliver it (next global position, next stream revision). */
function recorded(streamId: string, type: string, data: Record<string, unknown>): RecordedEvent {
  position += 1n;
  const revision = (revisions.get(streamId) ?? -1) + 1;
  revisions.set(streamId, revision);
  return {
    id: `00000000-0000-4000-8000-${position.toString().padStart(12, '0')}`,
    type,
    streamId,
    revision,
    position: { commit: position, prepare: position },
    data,
    metadata: {
      actor: { kind: 'user', id: 'u1' },
      correlation_id: 'c1',
      causation_id: 'c1',
      received_at: '2026-01-01T00:00:00.000Z',
      schema_version: type === 'JobFinished' ? 2 : 1,
    },
    created: new Date('2026-01-01T00:00:00.000Z'),
  };
}

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
    assert.equal(s.hosts.get('h2')!.repository!.url, 'local:/r');
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
});
