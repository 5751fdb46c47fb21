import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ResticError } from '../restic.errors';
import { parseVersionOutput, ResticVersion } from '../restic-version';
import { resticCopyEnvironment, resticEnvironment } from './restic-environment';

const v014 = parseVersionOutput('restic 0.14.0 compiled with go1.19.8 on linux/amd64') as ResticVersion;
const v019 = parseVersionOutput('restic 0.19.1 compiled with go1.26.4 on linux/amd64') as ResticVersion;
const base = {
  PATH: '/usr/bin',
  HOME: '/root',
  RESTIC_PASSWORD_FILE: '/etc/other',
  RESTIC_REPOSITORY: '/elsewhere',
  RESTIC_PROGRESS_FPS: '60',
};

describe('resticEnvironment', () => {
  it('passes repository and password only as environment, dropping inherited RESTIC_* variables', () => {
    const env = resticEnvironment({ url: '/srv/repo', password: 'pw' }, v014, base);
    assert.equal(env.RESTIC_REPOSITORY, '/srv/repo');
    assert.equal(env.RESTIC_PASSWORD, 'pw');
    assert.equal(env.RESTIC_PASSWORD_FILE, undefined);
    assert.equal(env.RESTIC_PROGRESS_FPS, undefined);
    assert.equal(env.PATH, '/usr/bin');
  });

  it('REST credentials: URL-encoded into the URL before 0.17 and when the version is unknown', () => {
    const repo = {
      url: 'rest:http://127.0.0.1:8000/host1/',
      password: 'pw',
      username: 'al ice',
      credential: 'p@ss:w/rd',
    };
    for (const version of [v014, undefined]) {
      const env = resticEnvironment(repo, version, base);
      assert.equal(env.RESTIC_REPOSITORY, 'rest:http://al%20ice:p%40ss%3Aw%2Frd@127.0.0.1:8000/host1/');
      assert.equal(env.RESTIC_REST_PASSWORD, undefined);
    }
  });

  it('REST credentials: RESTIC_REST_USERNAME/PASSWORD from 0.17, URL untouched', () => {
    const env = resticEnvironment(
      { url: 'rest:http://127.0.0.1:8000/', password: 'pw', username: 'alice', credential: 's3cret' },
      v019,
      base,
    );
    assert.equal(env.RESTIC_REPOSITORY, 'rest:http://127.0.0.1:8000/');
    assert.deepEqual([env.RESTIC_REST_USERNAME, env.RESTIC_REST_PASSWORD], ['alice', 's3cret']);
  });

  it('s3 credentials become AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY', () => {
    const env = resticEnvironment(
      { url: 's3:s3.amazonaws.com/b', password: 'pw', username: 'AK', credential: 'SK' },
      v019,
      {},
    );
    assert.deepEqual([env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY], ['AK', 'SK']);
  });

  it('bad input names the field', () => {
    const field = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        if (e instanceof ResticError) return e.field;
      }
      return undefined;
    };
    assert.equal(
      field(() => resticEnvironment({ url: '', password: 'pw' }, v014, {})),
      'repo.url',
    );
    assert.equal(
      field(() => resticEnvironment({ url: '/r', password: '' }, v014, {})),
      'repo.password',
    );
    assert.equal(
      field(() => resticEnvironment({ url: '/r', password: 'pw', username: 'u' }, v014, {})),
      'repo.username',
    );
    assert.equal(
      field(() => resticEnvironment({ url: 'rest:not a url', password: 'pw', username: 'u' }, v014, {})),
      'repo.url',
    );
  });
});

describe('resticCopyEnvironment', () => {
  const v013 = parseVersionOutput('restic 0.13.1 compiled with go1.18 on linux/amd64') as ResticVersion;
  const rest = (path: string, user: string, pass: string) => ({
    url: `rest:http://127.0.0.1:8000/${path}/`,
    password: `${path}-pw`,
    username: user,
    credential: pass,
  });

  it('the destination is the repository restic opens; the source and its password come through RESTIC_FROM_*', () => {
    const env = resticCopyEnvironment(
      { url: '/srv/dst', password: 'dst-pw' },
      { url: '/srv/src', password: 'src-pw' },
      v019,
      base,
    );
    assert.equal(env.RESTIC_REPOSITORY, '/srv/dst');
    assert.equal(env.RESTIC_PASSWORD, 'dst-pw');
    assert.equal(env.RESTIC_FROM_REPOSITORY, '/srv/src');
    assert.equal(env.RESTIC_FROM_PASSWORD, 'src-pw');
    assert.equal(env.RESTIC_PASSWORD_FILE, undefined, 'inherited RESTIC_* variables are dropped');
    assert.equal(env.PATH, '/usr/bin');
  });

  it('REST credentials of each side go into its own URL (RESTIC_REST_* would apply to both), in every version', () => {
    for (const v of [v014, v019, undefined]) {
      const env = resticCopyEnvironment(rest('dst', 'alice', 'a:/pw'), rest('src', 'bob', 'b pw'), v, base);
      assert.equal(env.RESTIC_REPOSITORY, 'rest:http://alice:a%3A%2Fpw@127.0.0.1:8000/dst/');
      assert.equal(env.RESTIC_FROM_REPOSITORY, 'rest:http://bob:b%20pw@127.0.0.1:8000/src/');
      assert.equal(env.RESTIC_REST_USERNAME, undefined);
      assert.equal(env.RESTIC_REST_PASSWORD, undefined);
    }
  });

  it('s3 keys are process-wide: equal keys pair, different ones are refused naming the variable', () => {
    const s3 = (bucket: string, key: string) => ({
      url: `s3:https://s3.example/${bucket}`,
      password: 'pw',
      username: key,
      credential: 'secret',
    });
    const same = resticCopyEnvironment(s3('a', 'K1'), s3('b', 'K1'), v019, base);
    assert.equal(same.AWS_ACCESS_KEY_ID, 'K1');
    const fromS3 = resticCopyEnvironment({ url: '/srv/dst', password: 'pw' }, s3('b', 'K2'), v019, base);
    assert.equal(fromS3.AWS_ACCESS_KEY_ID, 'K2', 'a local destination leaves the source its keys');
    assert.throws(
      () => resticCopyEnvironment(s3('a', 'K1'), s3('b', 'K2'), v019, base),
      (e: unknown) => e instanceof ResticError && /AWS_ACCESS_KEY_ID/.test(e.message),
    );
  });

  it('refuses restic before 0.14 (its copy had --repo2 with the roles reversed)', () => {
    assert.throws(
      () => resticCopyEnvironment({ url: '/d', password: 'p' }, { url: '/s', password: 'p' }, v013, base),
      (e: unknown) => e instanceof ResticError && e.field === 'version' && /0\.14/.test(e.message),
    );
  });
});
