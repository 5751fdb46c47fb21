import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone, HOST, REPO, SAMPLE_EVENTS, T0 } from './catalog-samples.testing';
import { legacyRepositoryId } from './event-ids';
import { type FleetEvent, fleetEvent } from './events';
import {
  EMPTY_REPOSITORIES_STATE,
  evolveRepositories,
  repositoriesOfHost,
  type RepositoriesState,
  repositoryEventsForConfigured,
} from './repository-state';

const fold = (events: FleetEvent[], from: RepositoriesState = EMPTY_REPOSITORIES_STATE): RepositoriesState =>
  events.reduce(evolveRepositories, from);

const enrolled = (hostId: string, hostname: string) =>
  fleetEvent('HostEnrolled', { ...clone(SAMPLE_EVENTS.HostEnrolled), host_id: hostId, hostname });
const configured = (hostId: string, url: string, password = SAMPLE_EVENTS.RepositoryConfigured.password) =>
  fleetEvent('RepositoryConfigured', { host_id: hostId, url, password });

describe('a host’s RepositoryConfigured history (written before repositories were first-class)', () => {
  it('reads as a repository named after the host, attached to it, with a derived id', () => {
    const state = fold([enrolled(HOST, 'web-1'), configured(HOST, '/srv/restic/web-1')]);
    const id = legacyRepositoryId(HOST);
    assert.deepEqual(state.repositories.get(id), {
      id,
      name: 'web-1',
      url: '/srv/restic/web-1',
      secrets: { password: SAMPLE_EVENTS.RepositoryConfigured.password },
      host_ids: [HOST],
      legacy_host_id: HOST,
    });
    assert.deepEqual(
      repositoriesOfHost(state, HOST).map((r) => r.id),
      [id],
    );
  });

  it('a later RepositoryConfigured changes the URL and secrets of the same repository', () => {
    const other = { ...SAMPLE_EVENTS.RepositoryConfigured.password, ciphertext: 'b3RoZXI=' };
    const state = fold([
      enrolled(HOST, 'web-1'),
      configured(HOST, '/srv/restic/web-1'),
      fleetEvent('AgentConnected', { ...clone(SAMPLE_EVENTS.AgentConnected), hostname: 'web-1-renamed' }),
      configured(HOST, 'sftp:backup@nas:/srv/web-1', other),
    ]);
    assert.equal(state.repositories.size, 1);
    const repo = state.repositories.get(legacyRepositoryId(HOST));
    assert.equal(repo?.name, 'web-1', 'a host renamed later does not rename its repository');
    assert.equal(repo?.url, 'sftp:backup@nas:/srv/web-1');
    assert.equal(repo?.secrets?.password.ciphertext, 'b3RoZXI=');
    assert.deepEqual(repo?.host_ids, [HOST]);
  });

  it('translates to the repository events it stands for, and only the ones that change something', () => {
    const first = repositoryEventsForConfigured(EMPTY_REPOSITORIES_STATE, configured(HOST, '/a').data);
    assert.deepEqual(
      first.map((e) => e.type),
      ['RepositoryRegistered', 'RepositorySecretsSet', 'RepositoryAttached'],
    );
    assert.equal(
      (first[0].data as { name: string }).name,
      HOST,
      'without a known hostname the host id names it',
    );
    const after = fold([configured(HOST, '/a')]);
    assert.deepEqual(
      repositoryEventsForConfigured(after, configured(HOST, '/a').data).map((e) => e.type),
      ['RepositorySecretsSet'],
    );
    assert.deepEqual(
      repositoryEventsForConfigured(after, configured(HOST, '/b').data).map((e) => e.type),
      ['RepositoryChanged', 'RepositorySecretsSet'],
    );
  });

  it('each host of an old log gets its own repository; two hosts never share one by accident', () => {
    const state = fold([
      enrolled('h1', 'web-1'),
      enrolled('h2', 'web-2'),
      configured('h1', '/srv/restic/same'),
      configured('h2', '/srv/restic/same'),
    ]);
    assert.equal(state.repositories.size, 2);
    assert.notEqual(legacyRepositoryId('h1'), legacyRepositoryId('h2'));
    assert.deepEqual(
      [...state.repositories.values()].map((r) => [r.name, r.host_ids]),
      [
        ['web-1', ['h1']],
        ['web-2', ['h2']],
      ],
    );
  });

  it('a revoked host is detached; the repository stays', () => {
    const state = fold([
      enrolled(HOST, 'web-1'),
      configured(HOST, '/a'),
      fleetEvent('HostRevoked', { host_id: HOST, revoked_at: T0 }),
    ]);
    assert.deepEqual(state.repositories.get(legacyRepositoryId(HOST))?.host_ids, []);
  });

  it('the legacy repository can be detached, renamed and removed like any other; configuring again brings it back', () => {
    const id = legacyRepositoryId(HOST);
    const removed = fold([
      enrolled(HOST, 'web-1'),
      configured(HOST, '/a'),
      fleetEvent('RepositoryChanged', { repository_id: id, name: 'web-1 local', url: '/a' }),
      fleetEvent('RepositoryDetached', { repository_id: id, host_id: HOST }),
      fleetEvent('RepositoryRemoved', { repository_id: id }),
    ]);
    assert.equal(removed.repositories.size, 0);
    const back = fold([configured(HOST, '/a')], removed);
    assert.deepEqual(back.repositories.get(id)?.host_ids, [HOST]);
    assert.equal(back.repositories.get(id)?.name, 'web-1');
  });
});

describe('repository-{id} events', () => {
  it('register, set secrets, attach several hosts, detach, set schedules, remove', () => {
    const reg = SAMPLE_EVENTS.RepositoryRegistered;
    let state = fold([
      fleetEvent('RepositoryRegistered', reg),
      fleetEvent('RepositorySecretsSet', SAMPLE_EVENTS.RepositorySecretsSet),
      fleetEvent('RepositoryAttached', { repository_id: REPO, host_id: 'h1' }),
      fleetEvent('RepositoryAttached', { repository_id: REPO, host_id: 'h2' }),
      fleetEvent('RepositoryAttached', { repository_id: REPO, host_id: 'h1' }),
      fleetEvent('RepositorySchedulesChanged', SAMPLE_EVENTS.RepositorySchedulesChanged),
    ]);
    const repo = state.repositories.get(REPO);
    assert.deepEqual(repo?.host_ids, ['h1', 'h2'], 'attaching twice is idempotent');
    assert.equal(repo?.secrets?.username, 'fleet');
    assert.equal(repo?.schedules?.version, 2);
    assert.equal(repo?.legacy_host_id, undefined);
    state = fold([fleetEvent('RepositoryDetached', { repository_id: REPO, host_id: 'h1' })], state);
    assert.deepEqual(state.repositories.get(REPO)?.host_ids, ['h2']);
    assert.deepEqual(repositoriesOfHost(state, 'h1'), []);
    state = fold([fleetEvent('RepositoryRemoved', { repository_id: REPO })], state);
    assert.equal(state.repositories.has(REPO), false);
  });

  it('events for a repository that is not registered change nothing', () => {
    const state = fold([
      fleetEvent('RepositoryAttached', { repository_id: 'ghost', host_id: 'h1' }),
      fleetEvent('RepositorySecretsSet', { ...SAMPLE_EVENTS.RepositorySecretsSet, repository_id: 'ghost' }),
      fleetEvent('RepositoryChanged', { ...SAMPLE_EVENTS.RepositoryChanged, repository_id: 'ghost' }),
    ]);
    assert.equal(state, EMPTY_REPOSITORIES_STATE);
  });

  it('is pure: folding the same events twice gives equal states and leaves earlier states untouched', () => {
    const events = [
      enrolled(HOST, 'web-1'),
      configured(HOST, '/a'),
      fleetEvent('RepositoryRegistered', SAMPLE_EVENTS.RepositoryRegistered),
      fleetEvent('RepositoryAttached', { repository_id: REPO, host_id: HOST }),
    ];
    const before = fold(events.slice(0, 2));
    const sizeBefore = before.repositories.size;
    const a = fold(events.slice(2), before);
    const b = fold(events);
    assert.deepEqual(a, b);
    assert.equal(before.repositories.size, sizeBefore);
    assert.deepEqual(
      repositoriesOfHost(b, HOST).map((r) => r.id),
      [legacyRepositoryId(HOST), REPO],
    );
  });
});
