/**
 * Carries "key X changed" (created or revoked) to every running replica, so their key caches
 * reload it within a second. Implementations: Postgres LISTEN/NOTIFY, Redis pub/sub, in-process.
 */
export type KeyChangeListener = (keyId: string) => Promise<void>;

export abstract class KeyChangeBus {
  private readonly listeners: KeyChangeListener[] = [];

  /**
   * Announces a change. This process's listeners have finished (its cache reloaded the key) when the promise
   * resolves, so a revoke is refused here on the very next request; other replicas follow through `broadcast`.
   */
  async publish(keyId: string): Promise<void> {
    await this.broadcast(keyId);
    await this.deliver(keyId);
  }

  subscribe(listener: KeyChangeListener): void {
    this.listeners.push(listener);
  }

  abstract close(): Promise<void>;

  /** Sends the change to the other replicas (which call `deliver` when it arrives). */
  protected abstract broadcast(keyId: string): Promise<void>;

  protected async deliver(keyId: string): Promise<void> {
    await Promise.all(this.listeners.map((listener) => listener(keyId)));
  }
}

export const KEY_CHANNEL = 'hunze_key_changes';
