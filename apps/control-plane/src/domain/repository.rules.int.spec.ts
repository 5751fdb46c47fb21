/**
 * The command side over the log recorded before repositories were first-class
 * (test/fixtures/legacy-log), read through the real SQLite store: FleetState
 * sees each live configured host attached to its own repository, which is the
 * one config.update names as default and the one a job without
 * repository_id works on; a revoked host is attached to nothing. The fleet
 * state snapshot gives back the same repositories.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSqliteEventStore } from '@rf/event-store';
import { fromRecorded, legacyRepositoryId, type RecordedEvent } from '@rf/events';
import { AppError } from '../core/app-error';
import { fleetStateSnapshotCodec } from '../services/fleet-state.snapshot';
import { FleetState } from './fleet-state';
import {
  chooseHostForRepository,
  defaultRepositoryOfHost,
  resolveJobRepository,
  unfinishedJobsOnRepository,
  usableRepositoriesOfHost,
} from './repository.rules';

function repoRoot(): string {
  return process.env.RF_REPO_ROOT ?? path.resolve(__dirname, '..', '..', '..', '..', '..');
}

describe('repository rules over a log written before repositories were first-class (fixture)', () => {
  let dir: string;
  let recorded: RecordedEvent[];
  const state = new FleetState();
  const configured = new Set<string>();
  const revoked = new Set<string>();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-legacy-rules-'));
    fs.copyFileSync(
      path.join(repoRoot(), 'test', 'fixtures', 'legacy-log', 'events.db'),
      path.join(dir, 'events.db'),
    );
    const store = createSqliteEventStore({ path: path.join(dir, 'events.db') });
    recorded = [];
    try {
      for await (const r of store.readAll()) recorded.push(r);
    } finally {
      await store.close();
    }
    for (const r of recorded) {
      state.apply(r);
      const e = fromRecorded(r);
      if (e.type === 'RepositoryConfigured') configured.add(e.data.host_id);
      if (e.type === 'HostRevoked') revoked.add(e.data.host_id);
    }
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('attaches each live configured host to its own repository, its default, where its jobs run', () => {
    const live = [...configured].filter((h) => !revoked.has(h));
    assert.ok(live.length >= 1, 'the fixture holds a live configured host');
    for (const hostId of live) {
      const own = legacyRepositoryId(hostId);
      assert.deepEqual(
        usableRepositoriesOfHost(state, hostId).map((r) => r.id),
        [own],
      );
      assert.equal(defaultRepositoryOfHost(state, hostId)?.id, own);
      const host = state.hosts.get(hostId)!;
      assert.equal(resolveJobRepository(state, host, 'check', {}, undefined), own);
      assert.equal(chooseHostForRepository(state, own, { isOnline: () => true }), hostId);
      assert.equal(chooseHostForRepository(state, own, { isOnline: () => false }), null);
      assert.equal(state.repositoryRevisions.has(own), false, 'no repository stream exists yet');
    }
    for (const hostId of revoked) {
      assert.deepEqual(usableRepositoriesOfHost(state, hostId), []);
      assert.throws(
        () => resolveJobRepository(state, state.hosts.get(hostId)!, 'check', {}, legacyRepositoryId(hostId)),
        (err: unknown) => err instanceof AppError && err.code === 'conflict',
      );
    }
  });

  it('every job of that era names its host’s repository; unfinished ones hold it', () => {
    assert.ok(state.jobs.size > 0);
    for (const job of state.jobs.values()) assert.equal(job.repositoryId, legacyRepositoryId(job.hostId));
    for (const hostId of configured) {
      const busy = unfinishedJobsOnRepository(state, legacyRepositoryId(hostId));
      assert.ok(busy.every((j) => j.hostId === hostId));
    }
  });

  it('the fleet-state snapshot gives back the same repositories', () => {
    const codec = fleetStateSnapshotCodec();
    const restored = codec.decode(JSON.parse(JSON.stringify(codec.encode(state))));
    assert.deepEqual(restored.repositories, state.repositories);
    assert.deepEqual(restored.repositoryFacts, state.repositoryFacts);
    assert.deepEqual(
      [...restored.jobs.values()].map((j) => j.repositoryId),
      [...state.jobs.values()].map((j) => j.repositoryId),
    );
  });
});
