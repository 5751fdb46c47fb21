import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, parseVersionOutput, versionAtLeast } from './restic-version';
import { resticCandidates } from './restic-locator';

describe('restic version parsing', () => {
  it('reads the 0.14 text and the 0.17+ JSON', () => {
    const t = parseVersionOutput('restic 0.14.0 compiled with go1.19.8 on linux/amd64\n');
    assert.deepEqual([t?.major, t?.minor, t?.patch], [0, 14, 0]);
    const j = parseVersionOutput('{"message_type":"version","version":"0.19.1","go_version":"go1.26.4"}');
    assert.deepEqual([j?.major, j?.minor, j?.patch], [0, 19, 1]);
    assert.equal(parseVersionOutput('not restic'), undefined);
  });

  it('compares versions', () => {
    const v = parseVersionOutput('restic 0.17.1');
    assert.equal(versionAtLeast(v, 0, 17), true);
    assert.equal(versionAtLeast(v, 0, 17, 2), false);
    assert.equal(versionAtLeast(undefined, 0, 1), false);
    assert.ok(compareVersions({ major: 0, minor: 9, patch: 9 }, { major: 0, minor: 10, patch: 0 }) < 0);
  });
});

describe('resticCandidates', () => {
  it('Linux: PATH first, then the usual folders and ~/bin, without duplicates', () => {
    const c = resticCandidates({ env: { PATH: '/usr/bin:/custom', HOME: '/home/op' }, platform: 'linux' });
    assert.deepEqual(c, [
      '/usr/bin/restic',
      '/custom/restic',
      '/usr/local/bin/restic',
      '/opt/restic/restic',
      '/opt/restic/bin/restic',
      '/home/op/bin/restic',
      '/home/op/.local/bin/restic',
    ]);
  });

  it('Windows: restic.exe in PATH, Program Files, scoop and chocolatey shims', () => {
    const c = resticCandidates({
      env: {
        Path: 'C:\\Tools',
        ProgramFiles: 'C:\\Program Files',
        USERPROFILE: 'C:\\Users\\op',
        ProgramData: 'C:\\ProgramData',
      },
      platform: 'win32',
    });
    assert.deepEqual(c, [
      'C:\\Tools\\restic.exe',
      'C:\\Program Files\\restic\\restic.exe',
      'C:\\Users\\op\\scoop\\shims\\restic.exe',
      'C:\\ProgramData\\chocolatey\\bin\\restic.exe',
      'C:\\Users\\op\\bin\\restic.exe',
    ]);
  });
});
