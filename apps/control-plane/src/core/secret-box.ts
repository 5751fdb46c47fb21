import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

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

const KEY_BYTES = 32;

/**
 * Encrypts repository secrets at rest (DESIGN.md §8). The key never leaves this
 * object; `seal` output is safe to put in events, `open` is called only when a
 * secret must go to an authenticated agent socket.
 */
export class SecretBox {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES)
      throw new SecretBoxError('secret_key_invalid', `secret key must be ${KEY_BYTES} bytes`);
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  /**
   * Loads the key file (64 hex chars), creating it with mode 0600 when absent.
   * A file readable by group/others is tightened rather than trusted as-is.
   */
  static fromKeyFile(file: string): SecretBox {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      try {
        // `wx` so two processes starting at once do not overwrite each other's key.
        fs.writeFileSync(file, randomBytes(KEY_BYTES).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const stat = fs.statSync(file);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
    const text = fs.readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(text)) {
      throw new SecretBoxError(
        'secret_key_invalid',
        `RF_SECRET_KEY_FILE ${file} must hold 64 hex characters (a 256-bit key)`,
      );
    }
    return new SecretBox(Buffer.from(text, 'hex'));
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
