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

export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
