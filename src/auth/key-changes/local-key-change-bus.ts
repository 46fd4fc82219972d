import { KeyChangeBus } from './key-change-bus';

/** The embedded database serves one process, so changes only need to reach this process: always connected. */
export class LocalKeyChangeBus extends KeyChangeBus {
  get connected(): boolean {
    return true;
  }

  protected async broadcast(): Promise<void> {}

  async close(): Promise<void> {}
}
