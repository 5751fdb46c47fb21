import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SecretBox } from '../core/secret-box';
import { SecretKeyRepository } from './secret-key.repository';

describe('SecretKeyRepository (real key files)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-secretkey-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const keys = new SecretKeyRepository();

  it('creates the key file 0600 on first use and reuses it afterwards', () => {
    const file = path.join(dir, 'sub', 'secret.key');
    const a = new SecretBox(keys.load(file));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const b = new SecretBox(keys.load(file));
    assert.equal(a.keyId, b.keyId);
    assert.equal(b.open(a.seal('hunter2')), 'hunter2');
  });

  it('tightens a key file that group or others can read', () => {
    const file = path.join(dir, 'loose.key');
    fs.writeFileSync(file, 'ab'.repeat(32) + '\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    assert.equal(keys.load(file).toString('hex'), 'ab'.repeat(32));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('rejects a key file that is not 64 hex characters', () => {
    const file = path.join(dir, 'bad.key');
    fs.writeFileSync(file, 'nope', { mode: 0o600 });
    assert.throws(() => keys.load(file), /64 hex characters/);
  });
});
