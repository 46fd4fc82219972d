/**
 * Carries "key X changed" (created or revoked) to every running replica, so their key caches
 * reload it within a second. Implementations: Postgres LISTEN/NOTIFY, Redis pub/sub, in-process.
 */
export abstract class KeyChangeBus {
  abstract publish(keyId: string): Promise<void>;
  abstract subscribe(listener: (keyId: string) => void): void;
  abstract close(): Promise<void>;
}

export const KEY_CHANNEL = 'hunze_key_changes';
