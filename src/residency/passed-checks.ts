// Every connection a residency check let through, announced just before its socket opens: which
// destination (an upstream id, `otlp`, `database`, `redis`, ...), the pinned address and the port. The
// appliance itself needs none of this; it lets a test prove that every socket the process opens was
// checked first (test/e2e/outbound-destinations.e2e-spec.ts), so a new door without the guard fails it.

export interface PassedCheck {
  destination: string;
  address: string;
  port: number;
}

export class PassedChecks {
  private readonly listeners = new Set<(passed: PassedCheck) => void>();

  /** Returns the unsubscribe function. */
  subscribe(listener: (passed: PassedCheck) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(passed: PassedCheck): void {
    for (const listener of this.listeners) {
      try {
        listener(passed);
      } catch {
        // a failing subscriber must not stop a checked connection
      }
    }
  }
}

export const passedChecks = new PassedChecks();
