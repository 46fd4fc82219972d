import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Recognisable in secret scanners and logs-by-accident alike. */
export const KEY_PREFIX = 'hz-';

export interface NewKeyMaterial {
  key: string;
  prefix: string;
  hash: string;
}

/** 256 random bits, base64url; only the hash is ever stored. */
export function generateKey(): NewKeyMaterial {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, prefix: key.slice(0, 10), hash: hashKey(key) };
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Constant-time comparison of two hex digests of equal length (both from `hashKey`). */
export function sameDigest(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}
