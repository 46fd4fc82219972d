// The usage writer's Prometheus series, on the app's registry. Gauges are read when scraped (collect), so
// the writer keeps no extra state for them.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface UsageWriterState {
  /** Records not yet in the database (every one already in the spool on disk). */
  queueDepth(): number;
  /** Records waiting behind a failed insert (0 while the database takes every batch). */
  spoolDepth(): number;
  /** occurred_at (ISO) of the oldest record not yet in the database, if any. */
  oldestUnwritten(): string | undefined;
}

export class UsageWriterMetrics {
  readonly written: Counter;
  readonly failures: Counter;
  readonly dropped: Counter;

  constructor(registry: Registry, state: UsageWriterState) {
    const registers = [registry];
    this.written = new Counter({
      name: 'hunze_usage_records_written_total',
      help: 'Usage records inserted into usage_records (directly or replayed from the spool).',
      registers,
    });
    this.failures = new Counter({
      name: 'hunze_usage_write_failures_total',
      help: 'Failed or timed-out usage inserts and spool writes.',
      registers,
    });
    this.dropped = new Counter({
      name: 'hunze_usage_records_dropped_total',
      help: 'Usage records dropped because the disk refused them and memory was full.',
      registers,
    });
    new Gauge({
      name: 'hunze_usage_queue_depth',
      help: 'Usage records not yet in the database (each already written to the disk spool).',
      registers,
      collect() {
        this.set(state.queueDepth());
      },
    });
    new Gauge({
      name: 'hunze_usage_spool_depth',
      help: 'Usage records waiting in the disk spool behind a failed insert (0 while the database keeps up).',
      registers,
      collect() {
        this.set(state.spoolDepth());
      },
    });
    new Gauge({
      name: 'hunze_usage_writer_lag_seconds',
      help: 'Age of the oldest usage record not yet in the database (0 when none is waiting).',
      registers,
      collect() {
        const oldest = state.oldestUnwritten();
        this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - Date.parse(oldest)) / 1000));
      },
    });
  }
}
