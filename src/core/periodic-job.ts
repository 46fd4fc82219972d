// A background job that runs now and then every `intervalMs` (the retention jobs): the timer is unref'd so it
// never keeps the process alive, and runs never overlap. The task handles and logs its own failures.

export class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly task: () => Promise<unknown>,
    private readonly intervalMs: number,
  ) {}

  /** Starts the timer and returns the first run. */
  start(): Promise<void> {
    this.timer ??= setInterval(() => void this.runOnce(), this.intervalMs).unref();
    return this.runOnce();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A run, unless one is under way (then that one). */
  runOnce(): Promise<void> {
    this.running ??= this.task()
      .then(() => undefined)
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
