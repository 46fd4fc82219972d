// One span per request without a per-request SDK Span: the request's metadata record is queued as it is (it is
// built once and never changed afterwards) and written as OTLP JSON (otlp-span-encoder.ts) only when its batch
// is exported. Semantics follow the SDK's BatchSpanProcessor: a bounded queue (2,048; further spans are dropped
// and counted), an export when a batch is full or the interval has passed, one export in flight at a time,
// everything queued flushed on forceFlush and shutdown. The differences: smaller batches, and a full batch goes
// out on a later tick, never inside Telemetry.take. Encoding is the only synchronous step of an export: a batch
// is encoded a slice of spans per tick, so no export holds the event loop for more than ~0.2 ms.
import { setImmediate as nextTick } from 'node:timers/promises';
import type { RequestRecord } from '../core/request-record';
import type { AppLogger } from './logger';
import type { OtlpSender } from './otlp-exporters';
import type { OtlpSpanEncoder } from './otlp-span-encoder';

export interface SpanQueueOptions {
  /** How long a span waits for a batch to fill before it is exported anyway. */
  intervalMs: number;
  /** BatchSpanProcessor's default. */
  maxQueueSize?: number;
  /** Spans per export document. */
  batchSize?: number;
}

/** Spans encoded per event-loop tick: ~0.2 ms of work (~6 us a span). */
const ENCODE_SLICE = 32;

export class SpanQueue {
  private readonly maxQueueSize: number;
  private readonly batchSize: number;
  private queue: RequestRecord[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  /** Whether the last export failed (forceFlush stops then). */
  private failed = false;

  constructor(
    private readonly sender: Pick<OtlpSender, 'post'>,
    private readonly encoder: OtlpSpanEncoder,
    private readonly log: AppLogger,
    private readonly options: SpanQueueOptions,
  ) {
    this.maxQueueSize = options.maxQueueSize ?? 2048;
    this.batchSize = Math.min(options.batchSize ?? 128, this.maxQueueSize);
  }

  /** Spans waiting for export. */
  get pending(): number {
    return this.queue.length;
  }

  add(record: RequestRecord): void {
    if (this.closed) return;
    if (this.queue.length >= this.maxQueueSize) {
      this.dropped += 1;
      return;
    }
    this.queue.push(record);
    if (this.inFlight === undefined) this.schedule();
  }

  /**
   * Exports what is queued now, a batch at a time, after the export in flight. Never rejects. Stops at the first
   * failed batch: with the collector unreachable, each further batch would wait out its own timeout, and
   * shutdown would take that long times the number of batches.
   */
  async forceFlush(): Promise<void> {
    let batches = Math.ceil(this.queue.length / this.batchSize);
    await this.idle();
    this.failed = false;
    for (; batches > 0 && this.queue.length > 0 && !this.failed; batches--) {
      this.start();
      await this.idle();
    }
  }

  private async idle(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
  }

  /** Takes no more spans and exports every queued one. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    await this.forceFlush();
  }

  private schedule(): void {
    if (this.queue.length === 0 || this.inFlight !== undefined) return;
    if (this.queue.length >= this.batchSize) {
      this.soon ??= setImmediate(() => this.start());
    } else if (this.timer === undefined && !this.closed) {
      this.timer = setTimeout(() => this.start(), this.options.intervalMs);
      this.timer.unref();
    }
  }

  private clearTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.soon !== undefined) clearImmediate(this.soon);
    this.timer = undefined;
    this.soon = undefined;
  }

  /** Exports one batch unless one is in flight; when it settles, the next is scheduled. */
  private start(): void {
    this.clearTimers();
    if (this.inFlight !== undefined || this.queue.length === 0) return;
    this.inFlight = this.exportBatch().finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
  }

  private async exportBatch(): Promise<void> {
    let records: RequestRecord[];
    if (this.queue.length <= this.batchSize) {
      records = this.queue;
      this.queue = [];
    } else {
      records = this.queue.splice(0, this.batchSize);
    }
    if (this.dropped > 0) {
      this.log.warn('otlp_spans_dropped', { count: this.dropped });
      this.dropped = 0;
    }
    let body: Uint8Array;
    try {
      const slices: string[] = [];
      for (let from = 0; from < records.length; from += ENCODE_SLICE) {
        if (from > 0) await nextTick();
        slices.push(this.encoder.spans(records.slice(from, from + ENCODE_SLICE)));
      }
      body = this.encoder.document(slices);
    } catch (err) {
      this.log.error('otlp_export_failed', err, { signal: 'traces' });
      return;
    }
    try {
      await this.sender.post('traces', body);
      this.failed = false;
    } catch {
      // Logged by the sender (class and code); the batch is not retried, as with the SDK's processor.
      this.failed = true;
    }
  }
}
