// The signed-in key: kept in this tab's sessionStorage only (gone when the tab closes), never in a cookie
// or a URL. The role is read from the key list: the key's display prefix (its first 10 characters) names
// its record. A key that may list keys but has no record is the break-glass admin key or the local CLI
// token, both admin. The role only decides which controls are shown; the API enforces it.
import { ApiFailure, getJson, useKey } from './api.js';
import type { KeyRecord, List } from './types.js';

const STORAGE_KEY = 'hunze.console.key';
const PREFIX_LENGTH = 10;

export interface Session {
  role: 'admin' | 'dpo';
  /** The key's name, or `break-glass admin key`. */
  name: string;
}

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  useKey(null);
}

/** Checks the key against the admin API and, when it may use the console, keeps it for this tab. */
export async function signIn(key: string): Promise<Session> {
  useKey(key);
  let keys: List<KeyRecord>;
  try {
    keys = await getJson<List<KeyRecord>>('/keys');
  } catch (error) {
    useKey(null);
    if (error instanceof ApiFailure && error.status === 401)
      throw new Error('This key was not accepted (unknown, expired or revoked).');
    if (error instanceof ApiFailure && error.status === 403)
      throw new Error('This key has the user role; the console needs an admin or dpo key.');
    throw error;
  }
  sessionStorage.setItem(STORAGE_KEY, key);
  const prefix = key.slice(0, PREFIX_LENGTH);
  const own = keys.data.find((k) => k.prefix === prefix && k.revoked_at === null);
  if (own?.role === 'dpo') return { role: 'dpo', name: own.name };
  return { role: 'admin', name: own?.name ?? 'break-glass admin key' };
}
