import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMPTY_REPOSITORIES_STATE,
  evolveRepositories,
  type FleetEvent,
  legacyRepositoryId,
} from '@rf/events';
import { projectionEvent } from '../engine/projection.definition';
import { ProjectionHarness } from '../testing/projection.harness';
import {
  ALICE,
  at,
  hostEnrolled,
  hostEvent,
  planned,
  recorded,
  type PlannedEvent,
} from '../testing/fleet-events.fixture';
import {
  repositoriesProjection,
  type RepositoryHostRow,
  type RepositoryRow,
} from './repositories.projection';

const SEALED = {
  alg: 'aes-256-gcm',
  key_id: 'k1',
  iv: 'aXY=',
  tag: 'dGFn',
  ciphertext: 'c2VjcmV0LXBhc3N3b3Jk',
};
const R1 = '0b6c2a52-5f0e-4c41-9a55-6f5a0d1c1a01';
const R2 = '0b6c2a52-5f0e-4c41-9a55-6f5a0d1c1a02';

const repo = (id: string, type: string, data: Record<string, unknown> = {}): PlannedEvent =>
  planned(`repository-${id}`, type, { repository_id: id, ...data }, ALICE);
const enrolledAs = (hostId: string, hostname: string): PlannedEvent => {
  const e = hostEnrolled(hostId, 0);
  return { ...e, event: { ...e.event, data: { ...(e.event.data as object), hostname } } };
};
const configured = (hostId: string, url: string): PlannedEvent =>
  hostEvent(hostId, 'RepositoryConfigured', { url, username: 'backup', password: SEALED }, ALICE);
const revoked = (hostId: string): PlannedEvent =>
  hostEvent(hostId, 'HostRevoked', { reason: 'retired', revoked_at: at(9000) }, ALICE);

const rowOf = (h: ProjectionHarness, id: string) => h.row<RepositoryRow>('repositories', { id });
const hostsOf = (h: ProjectionHarness, id: string): unknown => JSON.parse(rowOf(h, id)?.host_ids ?? 'null');
const reposOfHost = (h: ProjectionHarness, hostId: string): unknown =>
  JSON.parse(h.row<RepositoryHostRow>('repository_hosts', { host_id: hostId })?.repository_ids ?? 'null');

describe('repositories projection (pure evolve)', () => {
  it('a registered repository with secrets shows password_set and never the secret', () => {
    const h = new ProjectionHarness(repositoriesProjection).given(
      repo(R1, 'RepositoryRegistered', { name: 'offsite', url: 'rest:https://backup.example/offsite' }),
      repo(R1, 'RepositorySecretsSet', { password: SEALED, username: 'u', credential: SEALED }),
    );
    assert.deepEqual(rowOf(h, R1), {
      id: R1,
      name: 'offsite',
      url: 'rest:https://backup.example/offsite',
      password_set: 1,
      legacy_host_id: null,
      host_ids: '[]',
      registered_at: at(1000),
      updated_at: at(2000),
    });
    assert.ok(!JSON.stringify(h.rows('repositories')).includes(SEALED.ciphertext));
    assert.ok(!JSON.stringify(h.rows('repository_hosts')).includes(SEALED.ciphertext));
  });

  it('attaches and detaches hosts, in attach order, on both sides; a repeated attach changes nothing', () => {
    const h = new ProjectionHarness(repositoriesProjection).given(
      repo(R1, 'RepositoryRegistered', { name: 'shared', url: '/srv/restic/shared' }),
      repo(R2, 'RepositoryRegistered', { name: 'local', url: '/srv/restic/local' }),
      repo(R1, 'RepositoryAttached', { host_id: 'h2' }),
      repo(R1, 'RepositoryAttached', { host_id: 'h1' }),
      repo(R2, 'RepositoryAttached', { host_id: 'h1' }),
      repo(R1, 'RepositoryAttached', { host_id: 'h2' }),
    );
    assert.deepEqual(hostsOf(h, R1), ['h2', 'h1']);
    assert.deepEqual(reposOfHost(h, 'h1'), [R1, R2]);
    assert.equal(rowOf(h, R1)?.updated_at, at(4000), 'the repeated attach (event 6) is no change');
    h.given(repo(R1, 'RepositoryDetached', { host_id: 'h2' }));
    assert.deepEqual(hostsOf(h, R1), ['h1']);
    assert.deepEqual(reposOfHost(h, 'h2'), []);
  });

  it('a renamed or moved repository keeps its hosts; a removed one leaves no row and no host link', () => {
    const h = new ProjectionHarness(repositoriesProjection).given(
      repo(R1, 'RepositoryRegistered', { name: 'shared', url: '/srv/a' }),
      repo(R1, 'RepositoryAttached', { host_id: 'h1' }),
      repo(R1, 'RepositoryChanged', { name: 'shared-2', url: 'sftp:nas:/srv/b' }),
    );
    assert.equal(rowOf(h, R1)?.name, 'shared-2');
    assert.equal(rowOf(h, R1)?.url, 'sftp:nas:/srv/b');
    assert.deepEqual(hostsOf(h, R1), ['h1']);
    h.given(repo(R1, 'RepositoryRemoved', { reason: 'moved away' }));
    assert.equal(rowOf(h, R1), undefined);
    assert.deepEqual(reposOfHost(h, 'h1'), []);
  });

  it('a host’s RepositoryConfigured reads as its host-named repository, attached to it, with the newest URL', () => {
    const id = legacyRepositoryId('h1');
    const h = new ProjectionHarness(repositoriesProjection).given(
      enrolledAs('h1', 'web-1'),
      configured('h1', '/srv/restic/web-1'),
      configured('h1', 'rest:https://backup:pw@nas.example/web-1'),
    );
    const row = rowOf(h, id);
    assert.equal(row?.name, 'web-1');
    assert.equal(row?.legacy_host_id, 'h1');
    assert.equal(row?.password_set, 1);
    assert.equal(row?.url, 'rest:https://nas.example/web-1', 'credentials in a URL are not shown');
    assert.deepEqual(hostsOf(h, id), ['h1']);
    assert.deepEqual(reposOfHost(h, 'h1'), [id]);
    assert.equal(h.rows('repositories').length, 1);
  });

  it('a revoked host is detached from every repository it used, legacy or not', () => {
    const legacy = legacyRepositoryId('h1');
    const h = new ProjectionHarness(repositoriesProjection).given(
      enrolledAs('h1', 'web-1'),
      configured('h1', '/srv/restic/web-1'),
      repo(R1, 'RepositoryRegistered', { name: 'shared', url: '/srv/shared' }),
      repo(R1, 'RepositoryAttached', { host_id: 'h1' }),
      repo(R1, 'RepositoryAttached', { host_id: 'h2' }),
      revoked('h1'),
    );
    assert.deepEqual(hostsOf(h, legacy), []);
    assert.deepEqual(hostsOf(h, R1), ['h2']);
    assert.deepEqual(reposOfHost(h, 'h1'), []);
  });

  it('agrees with evolveRepositories (the fold the control plane uses) over a mixed history', () => {
    const history: PlannedEvent[] = [
      enrolledAs('h1', 'web-1'),
      enrolledAs('h2', 'db-1'),
      configured('h1', '/srv/restic/web-1'),
      repo(R1, 'RepositoryRegistered', { name: 'shared', url: '/srv/shared' }),
      repo(R1, 'RepositorySecretsSet', { password: SEALED }),
      repo(R1, 'RepositoryAttached', { host_id: 'h1' }),
      repo(R1, 'RepositoryAttached', { host_id: 'h2' }),
      configured('h2', '/srv/restic/db-1'),
      configured('h1', 'sftp:nas:/srv/web-1'),
      repo(R2, 'RepositoryRegistered', { name: 'gone', url: '/srv/gone' }),
      repo(R2, 'RepositoryAttached', { host_id: 'h2' }),
      repo(R2, 'RepositoryRemoved', {}),
      revoked('h2'),
      repo(R1, 'RepositoryDetached', { host_id: 'h1' }),
    ];
    const h = new ProjectionHarness(repositoriesProjection).given(...history);
    let state = EMPTY_REPOSITORIES_STATE;
    history.forEach((p, i) => {
      const e = projectionEvent(recorded(i + 1, p));
      assert.ok(e);
      state = evolveRepositories(state, e as FleetEvent);
    });
    const fromFold = [...state.repositories.values()]
      .map((r) => [r.id, r.name, r.url, r.secrets ? 1 : 0, r.legacy_host_id ?? null, r.host_ids])
      .sort();
    const fromRows = h
      .rows<RepositoryRow>('repositories')
      .map((r) => [r.id, r.name, r.url, r.password_set, r.legacy_host_id, JSON.parse(r.host_ids) as unknown])
      .sort();
    assert.deepEqual(fromRows, fromFold);
    assert.equal(fromRows.length, 3);
  });
});
