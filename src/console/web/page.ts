// What every section of the console shares.
import type { Session } from './session.js';
import type { ConfigAnswer } from './types.js';

export interface ConsoleState {
  session: Session;
  config: ConfigAnswer;
}

export interface ConsolePage {
  /** Wires the section's controls, once. */
  init(): void;
  /** Loads and shows the section's data; called each time the section is opened. */
  show(state: ConsoleState): Promise<void>;
}
