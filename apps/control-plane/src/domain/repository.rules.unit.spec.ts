import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { currentSchemaVersion, isFleetEventType, type RecordedEvent } from '@rf/events';
import { AppError } from '../core/app-error';
import { FleetState } from './fleet-state';
import {
  chooseHostForRepository,
  defaultRepositoryOfHost,
  resolveJobRepository,
  unfinishedJobsOnRepository,
} from './repository.rules';

const SEALED = { alg: 'aes-256-gcm', key_id: 'k1', iv: 'aXY=', tag: 'dGFn', ciphertext: 'Y3Q=' };
const AT = '2026-01-01T00:00:00.000Z';

/** A FleetState fed through `apply`, as the log would deliver each event. */
class Fleet {
  readonly state = new FleetState();
  private position = 0n;
  private readonly revisions = new Map<string, number>();

  add(streamId: string, type: string, data: Record<string, unknown>): this {
    this.position += 1n;
    const revision = (this.revisions.get(streamId) ?? -1) + 1;
    this.revisions.set(streamId, revision);
    const r: RecordedEvent = {
      id: `00000000-0000-4000-8000-${this.position.toString().padStart(12, '0')}`,
      type,
      streamId,
      revision,
      position: { commit: this.position, prepare: this.position },
      data,
      metadata: {
        actor: { kind: 'user', id: 'u1' },
        correlation_id: 'c1',
        causation_id: 'c1',
        received_at: AT,
        schema_version: isFleetEventType(type) ? currentSchemaVersion(type) : 1,
      },
      created: new Date(AT),
    };
    this.state.apply(r);
    return this;
  }

  host(id: string, capabilities: string[] = ['repositories']): this {
    return this.add(`host-${id}`, 'HostEnrolled', {
      host_id: id,
      hostname: id,
      os: 'linux',
      arch: 'amd64',
      enrolled_at: AT,
    }).add(`host-${id}`, 'AgentConnected', {
      host_id: id,
      hostname: id,
      os: 'linux',
      arch: 'amd64',
      agent_version: '0.1.0',
      protocol_version: 1,
      connected_at: AT,
      capabilities,
    });
  }

  repository(id: string, hosts: string[], secrets = true): this {
    this.add(`repository-${id}`, 'RepositoryRegistered', { repository_id: id, name: id, url: `/srv/${id}` });
    if (secrets)
      this.add(`repository-${id}`, 'RepositorySecretsSet', { repository_id: id, password: SEALED });
    for (const h of hosts)
      this.add(`repository-${id}`, 'RepositoryAttached', { repository_id: id, host_id: h });
    return this;
  }

  job(
    id: string,
    host: string,
    kind: string,
    repositoryId: string,
    args: Record<string, unknown> = {},
  ): this {
    return this.add(`job-${id}`, 'JobRequested', {
      job_id: id,
      host_id: host,
      kind,
      args,
      repository_id: repositoryId,
      requested_at: AT,
    });
  }
}

const code = (c: string, field?: string) => (err: unknown) =>
  err instanceof AppError && err.code === c && (field === undefined || err.details.field === field);

describe('repository rules', () => {
  it('a job may leave out repository_id only when its host has one repository', () => {
    const f = new Fleet().host('h1').host('h2').repository('r1', ['h1', 'h2']).repository('r2', ['h1']);
    const h1 = f.state.hosts.get('h1')!;
    const h2 = f.state.hosts.get('h2')!;
    assert.equal(resolveJobRepository(f.state, h2, 'backup', {}, undefined), 'r1');
    assert.throws(
      () => resolveJobRepository(f.state, h1, 'backup', {}, undefined),
      code('invalid_input', 'repository_id'),
    );
    assert.equal(resolveJobRepository(f.state, h1, 'backup', {}, 'r2'), 'r2');
    assert.throws(
      () => resolveJobRepository(f.state, h2, 'backup', {}, 'r2'),
      code('conflict', 'repository_id'),
    );
    assert.throws(
      () => resolveJobRepository(f.state, h2, 'backup', {}, 'nope'),
      code('invalid_input', 'repository_id'),
    );
    f.host('h3');
    assert.equal(resolveJobRepository(f.state, f.state.hosts.get('h3')!, 'backup', {}, undefined), undefined);
  });

  it('a copy needs a destination that exists, is another repository and is attached to the host', () => {
    const f = new Fleet().host('h1').host('h2').repository('a', ['h1', 'h2']).repository('b', ['h1']);
    const h1 = f.state.hosts.get('h1')!;
    const h2 = f.state.hosts.get('h2')!;
    assert.equal(resolveJobRepository(f.state, h1, 'copy', { to_repository_id: 'b' }, 'a'), 'a');
    assert.throws(
      () => resolveJobRepository(f.state, h1, 'copy', { to_repository_id: 'a' }, 'a'),
      code('invalid_input', 'to_repository_id'),
    );
    assert.throws(
      () => resolveJobRepository(f.state, h1, 'copy', { to_repository_id: 'zz' }, 'a'),
      code('invalid_input', 'to_repository_id'),
    );
    assert.throws(
      () => resolveJobRepository(f.state, h2, 'copy', { to_repository_id: 'b' }, 'a'),
      code('conflict', 'to_repository_id'),
    );
  });

  it('an agent without the repositories capability reaches only its default repository', () => {
    const f = new Fleet().host('old', []).repository('r1', ['old']).repository('r2', ['old']);
    const old = f.state.hosts.get('old')!;
    assert.equal(defaultRepositoryOfHost(f.state, 'old')?.id, 'r1');
    assert.equal(resolveJobRepository(f.state, old, 'check', {}, 'r1'), 'r1');
    assert.throws(
      () => resolveJobRepository(f.state, old, 'check', {}, 'r2'),
      code('conflict', 'repository_id'),
    );
    assert.equal(chooseHostForRepository(f.state, 'r2', { isOnline: () => true }), null);
  });

  it('the default repository is the host’s own one when it can use it, else the first with a password', () => {
    const f = new Fleet().host('h1').repository('nopw', ['h1'], false).repository('r2', ['h1']);
    assert.equal(defaultRepositoryOfHost(f.state, 'h1')?.id, 'r2');
    f.add('host-h1', 'RepositoryConfigured', { host_id: 'h1', url: '/srv/own', password: SEALED });
    const own = [...f.state.repositories.repositories.values()].find((r) => r.legacy_host_id === 'h1');
    assert.equal(defaultRepositoryOfHost(f.state, 'h1')?.id, own?.id);
  });

  it('chooses an online attached host with the fewest unfinished jobs, the first attached on a tie', () => {
    const f = new Fleet().host('h1').host('h2').host('h3').repository('r', ['h1', 'h2', 'h3']);
    const online = new Set(['h1', 'h2', 'h3']);
    const opts = { isOnline: (h: string) => online.has(h) };
    assert.equal(chooseHostForRepository(f.state, 'r', opts), 'h1');
    f.job('j1', 'h1', 'backup', 'r');
    assert.equal(chooseHostForRepository(f.state, 'r', opts), 'h2');
    f.job('j2', 'h2', 'backup', 'r');
    online.delete('h3');
    assert.equal(chooseHostForRepository(f.state, 'r', opts), 'h1', 'an offline host is passed over');
    f.add('host-h1', 'HostRevoked', { host_id: 'h1', revoked_at: AT });
    assert.equal(chooseHostForRepository(f.state, 'r', opts), 'h2', 'a revoked host is detached');
    f.repository('dest', ['h3']);
    assert.equal(chooseHostForRepository(f.state, 'r', { ...opts, alsoAttachedTo: 'dest' }), null);
    online.add('h3');
    assert.equal(chooseHostForRepository(f.state, 'r', { ...opts, alsoAttachedTo: 'dest' }), 'h3');
    assert.equal(chooseHostForRepository(f.state, 'gone', opts), null);
  });

  it('unfinished jobs hold their repository and a copy’s destination; finished ones do not', () => {
    const f = new Fleet().host('h1').repository('a', ['h1']).repository('b', ['h1']);
    f.job('j1', 'h1', 'copy', 'a', { to_repository_id: 'b' });
    assert.deepEqual(
      unfinishedJobsOnRepository(f.state, 'b').map((j) => j.jobId),
      ['j1'],
    );
    assert.deepEqual(
      unfinishedJobsOnRepository(f.state, 'a').map((j) => j.jobId),
      ['j1'],
    );
    f.add('job-j1', 'JobFinished', { job_id: 'j1', status: 'succeeded', exit_code: 0, finished_at: AT });
    assert.deepEqual(unfinishedJobsOnRepository(f.state, 'b'), []);
  });

  it('records size and the last successful maintenance per repository, forgets them on removal', () => {
    const f = new Fleet().host('h1').repository('r', ['h1']);
    f.add('repository-r', 'RepoStatsReported', {
      host_id: 'h1',
      repository_id: 'r',
      total_size_bytes: 4096,
      snapshot_count: 1,
      reported_at: AT,
    });
    f.job('p1', 'h1', 'prune', 'r');
    f.add('job-p1', 'JobFinished', { job_id: 'p1', status: 'failed', exit_code: 1, finished_at: AT });
    assert.deepEqual(f.state.repositoryFacts.get('r'), { sizeBytes: 4096, lastMaintenanceAt: null });
    f.job('p2', 'h1', 'prune', 'r');
    f.add('job-p2', 'JobFinished', {
      job_id: 'p2',
      status: 'succeeded',
      exit_code: 0,
      finished_at: '2026-01-02T00:00:00.000Z',
    });
    assert.deepEqual(f.state.repositoryFacts.get('r'), {
      sizeBytes: 4096,
      lastMaintenanceAt: Date.parse('2026-01-02T00:00:00.000Z'),
    });
    assert.equal(f.state.repositoryRevisions.get('r'), 3);
    f.add('repository-r', 'RepositoryRemoved', { repository_id: 'r' });
    assert.equal(f.state.repositoryFacts.has('r'), false);
    assert.equal(f.state.repositories.repositories.has('r'), false);
  });
});
