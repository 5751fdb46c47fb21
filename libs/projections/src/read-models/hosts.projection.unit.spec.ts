import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ProjectionHarness } from '../testing/projection.harness';
import {
  agentConnected,
  ALICE as alice,
  at,
  backupRequested,
  hostEnrolled,
  hostEvent,
  jobEvent,
  planned,
  type PlannedEvent,
} from '../testing/fleet-events.fixture';
import { hostsProjection, type HostJobRow, type HostRow } from './hosts.projection';

let h: ProjectionHarness;
const given = (...events: PlannedEvent[]): ProjectionHarness => h.given(...events);
const when = given;
const hostRow = (id = 'h1'): HostRow | undefined => h.row<HostRow>('hosts', { id });
const lastBackup = (): [string | null, string | null, string | null] | undefined => {
  const r = hostRow();
  return r && [r.last_backup_at, r.last_backup_status, r.last_backup_job_id];
};

const host = (type: string, data: Record<string, unknown>, actor?: typeof alice) =>
  hostEvent('h1', type, data, actor);
const enrolled = hostEnrolled('h1', 1000);
const connected = agentConnected('h1', 2000);
const job = (id: string, type: string, data: Record<string, unknown>): PlannedEvent =>
  jobEvent(id, type, data, type === 'JobRequested' ? alice : undefined);
const backup = (id: string, t: number): PlannedEvent => backupRequested(id, t);
const finished = (id: string, status: string, t: number): PlannedEvent =>
  job(id, 'JobFinished', { status, exit_code: status === 'failed' ? 1 : 0, finished_at: at(t) });
const lost = (id: string, t: number): PlannedEvent =>
  job(id, 'JobLost', { host_id: 'h1', reason: 'away', lost_at: at(t) });

beforeEach(() => {
  h = new ProjectionHarness(hostsProjection);
});

describe('hosts projection (pure evolve)', () => {
  it('is offline after enrolment, online with versions after connecting, offline after disconnect', () => {
    given(enrolled);
    assert.equal(hostRow()?.status, 'offline');
    assert.equal(hostRow()?.enrolled_at, at(1000));
    when(connected);
    assert.deepEqual(
      [hostRow()?.status, hostRow()?.agent_version, hostRow()?.restic_version, hostRow()?.connected_at],
      ['online', '0.2.0', '0.14.0', at(2000)],
    );
    when(host('AgentDisconnected', { reason: 'heartbeat_timeout', disconnected_at: at(3000) }));
    assert.deepEqual([hostRow()?.status, hostRow()?.last_seen], ['offline', at(3000)]);
  });

  it('records whether the host allows hooks, as each connection states it; unknown when the agent does not say', () => {
    given(enrolled, connected);
    assert.equal(hostRow()?.allow_hooks, null, 'an agent that predates allow_hooks');
    const saying = (allow: boolean, t: number): PlannedEvent =>
      host('AgentConnected', {
        protocol_version: 1,
        agent_version: '0.2.0',
        restic_version: '0.14.0',
        hostname: 'web-01',
        os: 'linux',
        arch: 'amd64',
        connected_at: at(t),
        allow_hooks: allow,
      });
    when(saying(true, 2500));
    assert.equal(hostRow()?.allow_hooks, 1);
    when(saying(false, 2600));
    assert.equal(hostRow()?.allow_hooks, 0);
    when(agentConnected('h1', 2700));
    assert.equal(hostRow()?.allow_hooks, null, 'a downgraded agent that does not say is unknown again');
  });

  it('stays revoked whatever the agent does afterwards', () => {
    given(enrolled, host('HostRevoked', { revoked_at: at(1500) }, alice), connected);
    assert.deepEqual([hostRow()?.status, hostRow()?.revoked_at], ['revoked', at(1500)]);
  });

  it('keeps the repository URL without credentials and only says that a password is set', () => {
    given(
      enrolled,
      host(
        'RepositoryConfigured',
        {
          url: 'rest:https://bob:s3cret@backup.example/h1',
          password: { alg: 'aes-256-gcm', key_id: 'k', iv: 'A', tag: 'A', ciphertext: 'A' },
        },
        alice,
      ),
    );
    assert.equal(hostRow()?.repository_url, 'rest:https://backup.example/h1');
    assert.equal(hostRow()?.password_set, 1);
    assert.ok(!JSON.stringify(h.rows('hosts')).includes('s3cret'));
  });

  it('records the last backup outcome (not other kinds), snapshot count and repository size', () => {
    given(
      enrolled,
      backup('j1', 1000),
      job('j1', 'JobFinished', { status: 'warning', exit_code: 3, finished_at: at(4000) }),
      job('j9', 'JobRequested', { host_id: 'h1', kind: 'check', args: {}, requested_at: at(4500) }),
      finished('j9', 'failed', 5000),
      planned('snapshots-h1', 'SnapshotsReported', {
        host_id: 'h1',
        snapshots: [{ id: 'ab'.repeat(32) }, { id: 'cd'.repeat(32) }],
        reported_at: at(6000),
      }),
      host('RepoStatsReported', { total_size_bytes: 4096, snapshot_count: 2, reported_at: at(7000) }),
    );
    assert.deepEqual(lastBackup(), [at(4000), 'warning', 'j1']);
    assert.equal(hostRow()?.snapshot_count, 2);
    assert.equal(hostRow()?.repo_size_bytes, 4096);
  });

  it('follows each job through the job lifecycle: the outcome it decides is the last backup', () => {
    given(enrolled, backup('j1', 1000), job('j1', 'JobStarted', { kind: 'backup', started_at: at(2000) }));
    assert.equal(h.row<HostJobRow>('host_jobs', { job_id: 'j1' })?.status, 'running');
    when(lost('j1', 5000));
    assert.deepEqual(lastBackup(), [at(5000), 'lost', 'j1']);
    // The agent's late report replaces the control plane's guess...
    when(finished('j1', 'succeeded', 6000));
    assert.deepEqual(lastBackup(), [at(6000), 'succeeded', 'j1']);
    // ...but nothing replaces the agent's report: not a second report, not a JobLost.
    when(finished('j1', 'failed', 7000), lost('j1', 8000));
    assert.deepEqual(lastBackup(), [at(6000), 'succeeded', 'j1']);
    assert.equal(h.row<HostJobRow>('host_jobs', { job_id: 'j1' })?.status, 'succeeded');
  });

  it('keeps the later of two backups, and a rejected backup (it never ran) is none', () => {
    given(
      enrolled,
      backup('j1', 1000),
      backup('j2', 1100),
      finished('j2', 'succeeded', 9000),
      finished('j1', 'failed', 8000),
      backup('j3', 1200),
      job('j3', 'JobRejected', { error: 'busy', rejected_at: at(9500) }),
      lost('j3', 9600),
    );
    assert.deepEqual(lastBackup(), [at(9000), 'succeeded', 'j2']);
    assert.equal(h.row<HostJobRow>('host_jobs', { job_id: 'j3' })?.status, 'failed');
  });

  it('ignores the outcome of a job whose request it never saw', () => {
    given(enrolled, finished('j1', 'succeeded', 4000));
    assert.deepEqual(lastBackup(), [null, null, null]);
    assert.deepEqual(h.rows('host_jobs'), []);
  });
});
