import { EventEmitter } from 'node:events';
import { KEY_CHANNEL, KeyChangeBus } from './key-change-bus';

/** The embedded database serves one process, so changes only need to reach this process. */
export class LocalKeyChangeBus extends KeyChangeBus {
  private readonly emitter = new EventEmitter();

  async publish(keyId: string): Promise<void> {
    this.emitter.emit(KEY_CHANNEL, keyId);
  }

  subscribe(listener: (keyId: string) => void): void {
    this.emitter.on(KEY_CHANNEL, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
