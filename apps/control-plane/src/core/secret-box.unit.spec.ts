import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SecretBox, SecretBoxError } from './secret-box';

describe('SecretBox', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-secretbox-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates the key file 0600 on first use and reuses it afterwards', () => {
    const file = path.join(dir, 'sub', 'secret.key');
    const a = SecretBox.fromKeyFile(file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const b = SecretBox.fromKeyFile(file);
    assert.equal(a.keyId, b.keyId);
    assert.equal(b.open(a.seal('hunter2')), 'hunter2');
  });

  it('seals to a ciphertext that does not contain the plaintext and differs every time', () => {
    const box = new SecretBox(randomBytes(32));
    const one = box.seal('correct horse battery staple');
    const two = box.seal('correct horse battery staple');
    assert.notEqual(one.ciphertext, two.ciphertext);
    assert.ok(!JSON.stringify(one).includes('correct horse'));
    assert.equal(box.open(two), 'correct horse battery staple');
  });

  it('refuses a secret sealed by another key, naming both key ids', () => {
    const sealed = new SecretBox(randomBytes(32)).seal('x');
    const other = new SecretBox(randomBytes(32));
    assert.throws(
      () => other.open(sealed),
      (err: unknown) => err instanceof SecretBoxError && err.code === 'secret_key_mismatch',
    );
  });

  it('detects tampering', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('secret');
    const ct = Buffer.from(sealed.ciphertext, 'base64');
    ct[0] = ct[0]! ^ 1;
    assert.throws(
      () => box.open({ ...sealed, ciphertext: ct.toString('base64') }),
      (err: unknown) => err instanceof SecretBoxError && err.code === 'secret_decrypt_failed',
    );
  });

  it('rejects a key file that is not 64 hex characters', () => {
    const file = path.join(dir, 'bad.key');
    fs.writeFileSync(file, 'nope', { mode: 0o600 });
    assert.throws(() => SecretBox.fromKeyFile(file), /64 hex characters/);
  });
});
