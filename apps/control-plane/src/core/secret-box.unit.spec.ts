import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretBox, SecretBoxError } from './secret-box';

describe('SecretBox', () => {
  it('seals to a ciphertext that does not contain the plaintext and differs every time', () => {
    const box = new SecretBox(randomBytes(32));
    const one = box.seal('correct horse battery staple');
    const two = box.seal('correct horse battery staple');
    assert.notEqual(one.ciphertext, two.ciphertext);
    assert.ok(!JSON.stringify(one).includes('correct horse'));
    assert.equal(box.open(two), 'correct horse battery staple');
  });

  it('refuses a key that is not 32 bytes', () => {
    assert.throws(
      () => new SecretBox(randomBytes(16)),
      (err: unknown) => err instanceof SecretBoxError && err.code === 'secret_key_invalid',
    );
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
});
