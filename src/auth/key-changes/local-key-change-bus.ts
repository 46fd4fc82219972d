import { KeyChangeBus } from './key-change-bus';

/** The embedded database serves one process, so changes only need to reach this process. */
export class LocalKeyChangeBus extends KeyChangeBus {
  protected async broadcast(): Promise<void> {}

  async close(): Promise<void> {}
}
