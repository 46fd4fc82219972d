/**
 * Carries "key X changed" (created or revoked) to every running replica, so their key caches
 * reload it within a second. Implementations: in-process (embedded database, one process) and shared feeds
 * (Postgres LISTEN/NOTIFY, plus Redis pub/sub when configured).
 */
export type KeyChangeListener = (keyId: string) => Promise<void>;
export type ConnectedListener = (connected: boolean) => void;

export abstract class KeyChangeBus {
  private readonly listeners: KeyChangeListener[] = [];
  private readonly connectedListeners: ConnectedListener[] = [];

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

  /**
   * Whether changes made on other replicas reach this one now. While false a cache fed by this bus cannot
   * know about a revocation and must not be trusted; `onConnectedChange` tells when that flips.
   */
  abstract get connected(): boolean;

  onConnectedChange(listener: ConnectedListener): void {
    this.connectedListeners.push(listener);
  }

  /** Each feed between replicas by name, and whether it is subscribed (none in-process). */
  feedStates(): Readonly<Record<string, boolean>> {
    return {};
  }

  abstract close(): Promise<void>;

  /** Sends the change to the other replicas (which call `deliver` when it arrives). */
  protected abstract broadcast(keyId: string): Promise<void>;

  protected async deliver(keyId: string): Promise<void> {
    await Promise.all(this.listeners.map((listener) => listener(keyId)));
  }

  protected connectedChanged(connected: boolean): void {
    this.connectedListeners.forEach((listener) => listener(connected));
  }
}

export const KEY_CHANNEL = 'hunze_key_changes';
