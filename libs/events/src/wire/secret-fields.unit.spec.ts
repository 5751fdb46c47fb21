import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactSecrets, REDACTED, SECRET_FIELD_NAMES, SECRET_FIELD_PATHS } from './secret-fields';

describe('redactSecrets', () => {
  it('hides every listed field at any depth of objects and arrays, whatever its case', () => {
    const input = {
      type: 'config.update',
      payload: { repo_url: '/r', repo_password: 'p1', repo_credential: 'c1', nested: [{ Password: 'p2' }] },
      body: { channel: { settings: { webhook_secret: 's1', token: 't1', webhook_url: 'https://hooks/x' } } },
      deep: { a: { b: { c: { d: { e: { agent_secret: 'a1' } } } } } },
      headers: { Authorization: 'Bearer x' },
    };
    const out = redactSecrets(input);
    const text = JSON.stringify(out);
    for (const secret of ['p1', 'c1', 'p2', 's1', 't1', 'hooks/x', 'a1', 'Bearer x'])
      assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.equal(out.payload.repo_url, '/r', 'other fields stay');
    assert.equal(out.payload.repo_password, REDACTED);
    assert.equal(input.payload.repo_password, 'p1', 'the input is not modified');
  });

  it('returns the very same value when there is nothing to hide, and leaves non-plain objects to their serializers', () => {
    const clean = { a: 1, b: [{ c: 'x' }] };
    assert.equal(redactSecrets(clean), clean);
    const err = Object.assign(new Error('boom'), { password: 'e1' });
    const out = redactSecrets({ err });
    assert.equal(out.err, err, 'an Error is passed through for the err serializer');
    assert.equal(redactSecrets(null), null);
    assert.equal(redactSecrets('password'), 'password');
  });

  it('walks instances of data classes (validated payloads) too', () => {
    class Payload {
      constructor(
        readonly repo_url: string,
        readonly repo_password: string,
      ) {}
    }
    const out = redactSecrets({ payload: new Payload('/r', 'class-secret') });
    assert.ok(!JSON.stringify(out).includes('class-secret'));
    assert.equal(out.payload.repo_url, '/r');
    const when = new Date(0);
    assert.equal(redactSecrets({ when }).when, when, 'built-ins are left alone');
  });

  it('survives cycles and keeps null/undefined secret fields as they are', () => {
    const a: Record<string, unknown> = { password: 'x', token: null };
    a.self = a;
    const out = redactSecrets(a) as Record<string, unknown>;
    assert.equal(out.password, REDACTED);
    assert.equal(out.token, null);
    assert.equal(out.self, '[Circular]');
  });

  it("hides a notification channel's secret settings, taken from the channel catalog, but not a repository URL", () => {
    const body = {
      kind: 'slack',
      settings: { url: 'https://hooks.slack.example/services/T0/B0/xyz', topic: 'backups' },
      repository: { url: '/srv/restic/web-1' },
    };
    const out = redactSecrets(body);
    assert.equal(out.settings.url, REDACTED, 'an incoming-webhook URL is a credential');
    assert.equal(out.settings.topic, 'backups');
    assert.equal(out.repository.url, '/srv/restic/web-1');
    assert.ok(SECRET_FIELD_PATHS.includes('settings.url'));
  });

  it('lists the repository and agent secrets once for every app', () => {
    for (const name of [
      'repo_password',
      'repo_credential',
      'password',
      'credential',
      'agent_secret',
      'token',
    ])
      assert.ok(SECRET_FIELD_NAMES.includes(name), name);
  });
});
