import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ResticError } from '../restic.errors';
import { parseVersionOutput, ResticVersion } from '../restic-version';
import { resticEnvironment } from './restic-environment';

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
