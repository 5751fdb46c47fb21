import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: high-entropy enough that a plain sha256 is a safe stored form. */
export const randomSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');

export const sha256Hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/** Compares a presented secret with a stored sha256 hex without leaking where they differ. */
export function secretMatchesHash(secret: string, storedHashHex: string): boolean {
  const presented = createHash('sha256').update(secret, 'utf8').digest();
  const stored = Buffer.from(storedHashHex, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** Constant-time equality of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** Readable random password for the bootstrap admin and `users add` without a password. */
export const randomPassword = (): string => randomBytes(18).toString('base64url');

export const API_TOKEN_PREFIX = 'rf_';
export const ENROLMENT_TOKEN_PREFIX = 'rfe_';
