import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/** An AES-256-GCM ciphertext as stored in events: every field base64 except `key_id`. */
export interface SealedSecret {
  readonly alg: 'aes-256-gcm';
  /** Identifies the key that sealed it, so a rotated key file is detected instead of failing obscurely. */
  readonly key_id: string;
  readonly iv: string;
  readonly tag: string;
  readonly ciphertext: string;
}

export type SecretBoxErrorCode =
  'secret_key_invalid' | 'secret_key_mismatch' | 'secret_decrypt_failed' | 'secret_malformed';

export class SecretBoxError extends Error {
  constructor(
    readonly code: SecretBoxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

export const SECRET_KEY_BYTES = 32;

/**
 * Encrypts repository secrets at rest (docs/architecture.md, "Security"). The key never leaves this
 * object; `seal` output is safe to put in events, `open` is called only when a
 * secret must go to an authenticated agent socket. Pure: the key comes from
 * the key file through `SecretKeyRepository`.
 */
export class SecretBox {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES)
      throw new SecretBoxError('secret_key_invalid', `secret key must be ${SECRET_KEY_BYTES} bytes`);
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  /**
   * A separate key for one purpose (e.g. signing session cookies), derived
   * with HKDF so it reveals nothing about this key or any other purpose's.
   */
  derive(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `restic-fleet ${purpose}`, 32));
  }

  seal(plaintext: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      alg: 'aes-256-gcm',
      key_id: this.keyId,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ciphertext: ct.toString('base64'),
    };
  }

  open(sealed: unknown): string {
    const s = parseSealed(sealed);
    if (s.key_id !== this.keyId) {
      throw new SecretBoxError(
        'secret_key_mismatch',
        `secret was sealed with key ${s.key_id}, current key is ${this.keyId}`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(s.iv, 'base64'));
      decipher.setAuthTag(Buffer.from(s.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(s.ciphertext, 'base64')), decipher.final()]).toString(
        'utf8',
      );
    } catch (err) {
      throw new SecretBoxError(
        'secret_decrypt_failed',
        `secret could not be decrypted: ${(err as Error).message}`,
      );
    }
  }
}

export function isSealedSecret(value: unknown): value is SealedSecret {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.alg === 'aes-256-gcm' && ['key_id', 'iv', 'tag', 'ciphertext'].every((k) => typeof v[k] === 'string')
  );
}

function parseSealed(value: unknown): SealedSecret {
  if (!isSealedSecret(value))
    throw new SecretBoxError('secret_malformed', 'stored secret is not an aes-256-gcm envelope');
  return value;
}
