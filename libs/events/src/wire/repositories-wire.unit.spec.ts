import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone, HOST, JOB, REPO, SAMPLE_ARGS } from '../catalog/catalog-samples.testing';
import { hostStream, repositoryStream, snapshotsStream } from '../catalog/streams';
import { encodeEnvelope, makeEnvelope, parseEnvelope } from './envelope';
import { eventForMessage } from './message-events';
import { redactSecrets } from './secret-fields';
import { SERVER_TO_AGENT } from './wire-messages';
import { SAMPLE_PAYLOADS } from './wire-samples.testing';

/** What an agent of the previous release sent and received: no repository fields at all. */
const OLD_CONFIG = {
  repo_url: 'rest:https://backup.example:8000/web-1',
  repo_password: 'hunter2',
};

describe('wire: several repositories per host', () => {
  it('config.update without repositories (a control plane of the previous release) still parses', () => {
    const r = parseEnvelope(encodeEnvelope(makeEnvelope('config.update', OLD_CONFIG)), {
      accept: SERVER_TO_AGENT,
    });
    assert.ok(r.ok);
    if (r.ok && r.message.type === 'config.update') {
      assert.equal(r.message.payload.repositories, undefined);
      assert.equal(r.message.payload.repo_url, OLD_CONFIG.repo_url);
    }
  });

  it('config.update carries every attached repository, each validated with an indexed field', () => {
    const r = parseEnvelope(
      encodeEnvelope(makeEnvelope('config.update', clone(SAMPLE_PAYLOADS['config.update']))),
    );
    assert.ok(r.ok);
    if (r.ok && r.message.type === 'config.update') assert.equal(r.message.payload.repositories?.length, 2);
    const bad = clone(SAMPLE_PAYLOADS['config.update']) as unknown as {
      repositories: Record<string, unknown>[];
    };
    bad.repositories[1].url = 'rest:https://u:leaked@backup.example/';
    assert.throws(
      () => makeEnvelope('config.update', bad as never),
      (e: unknown) => (e as { field?: string }).field === 'payload.repositories.1.url',
    );
    const noPassword = clone(SAMPLE_PAYLOADS['config.update']) as unknown as {
      repositories: Record<string, unknown>[];
    };
    delete noPassword.repositories[0].password;
    assert.throws(
      () => makeEnvelope('config.update', noPassword as never),
      (e: unknown) => (e as { field?: string }).field === 'payload.repositories.0.password',
    );
  });

  it('redactSecrets hides the secrets of every listed repository, not only the default one', () => {
    const m = makeEnvelope('config.update', clone(SAMPLE_PAYLOADS['config.update']));
    const text = JSON.stringify(redactSecrets(m));
    for (const secret of ['hunter2', 'basic-secret', 'second-secret'])
      assert.equal(text.includes(secret), false, `${secret} leaked: ${text}`);
    assert.ok(text.includes('/srv/restic/local'), 'non-secret fields stay readable');
    assert.equal(m.payload.repositories?.[1].password, 'second-secret', 'the original is not modified');
  });

  it('command.run names its repository; a copy names its destination, and bad ids are refused by field', () => {
    const copy = makeEnvelope('command.run', {
      job_id: JOB,
      kind: 'copy',
      args: SAMPLE_ARGS.copy,
      repository_id: REPO,
    });
    assert.equal(copy.payload.repository_id, REPO);
    assert.throws(
      () =>
        makeEnvelope('command.run', { job_id: JOB, kind: 'copy', args: { snapshots: ['latest'] } } as never),
      (e: unknown) => (e as { field?: string }).field === 'payload.args.to_repository_id',
    );
    assert.throws(
      () =>
        makeEnvelope('command.run', {
          job_id: JOB,
          kind: 'backup',
          args: SAMPLE_ARGS.backup,
          repository_id: 'no spaces',
        } as never),
      (e: unknown) => (e as { field?: string }).field === 'payload.repository_id',
    );
  });

  it('hello capabilities reach AgentConnected; an older hello has none', () => {
    const hello = parseEnvelope(encodeEnvelope(makeEnvelope('hello', clone(SAMPLE_PAYLOADS.hello))));
    assert.ok(hello.ok);
    const e = hello.ok ? eventForMessage(HOST, hello.message) : null;
    assert.deepEqual((e?.event.data as { capabilities?: string[] }).capabilities, ['repositories']);
    const { capabilities: _c, ...old } = clone(SAMPLE_PAYLOADS.hello);
    const oldHello = parseEnvelope(encodeEnvelope(makeEnvelope('hello', old)));
    assert.ok(oldHello.ok);
    const o = oldHello.ok ? eventForMessage(HOST, oldHello.message) : null;
    assert.equal('capabilities' in (o?.event.data as object), false);
  });

  it('repo.stats about a named repository goes to its stream; an older agent’s to its host’s', () => {
    const named = parseEnvelope(
      encodeEnvelope(
        makeEnvelope('repo.stats', { ...clone(SAMPLE_PAYLOADS['repo.stats']), repository_id: REPO }),
      ),
    );
    assert.ok(named.ok);
    const n = named.ok ? eventForMessage(HOST, named.message) : null;
    assert.equal(n?.stream, repositoryStream(REPO));
    assert.equal((n?.event.data as { host_id: string }).host_id, HOST, 'the reporter is kept');
    const old = parseEnvelope(
      encodeEnvelope(makeEnvelope('repo.stats', clone(SAMPLE_PAYLOADS['repo.stats']))),
    );
    assert.ok(old.ok);
    assert.equal(old.ok ? eventForMessage(HOST, old.message)?.stream : null, hostStream(HOST));
  });

  it('snapshots.report keeps its repository on the reporting host’s stream', () => {
    const r = parseEnvelope(
      encodeEnvelope(
        makeEnvelope('snapshots.report', {
          ...clone(SAMPLE_PAYLOADS['snapshots.report']),
          repository_id: REPO,
        }),
      ),
    );
    assert.ok(r.ok);
    const e = r.ok ? eventForMessage(HOST, r.message) : null;
    assert.equal(e?.stream, snapshotsStream(HOST));
    assert.equal((e?.event.data as { repository_id?: string }).repository_id, REPO);
  });
});
