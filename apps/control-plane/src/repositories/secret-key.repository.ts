import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SECRET_KEY_BYTES, SecretBoxError } from '../core/secret-box';

/**
 * The key file behind repository secrets (`RF_SECRET_KEY_FILE`): 64 hex
 * characters, created with mode 0600 on first start. The cipher itself
 * (`SecretBox`) never touches the file system.
 */
export class SecretKeyRepository {
  /**
   * Reads the key, creating the file when absent. A file readable by group or
   * others is tightened rather than trusted as-is.
   */
  load(file: string): Buffer {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      try {
        // `wx` so two processes starting at once do not overwrite each other's key.
        fs.writeFileSync(file, randomBytes(SECRET_KEY_BYTES).toString('hex') + '\n', {
          mode: 0o600,
          flag: 'wx',
        });
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
    return Buffer.from(text, 'hex');
  }
}
