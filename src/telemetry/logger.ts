// The appliance's only logger: pino to stdout, fed metadata records and fixed event names only.
// Nothing here accepts free text from a request; error logs carry class names and codes, not messages.
import pino from 'pino';
import type { EventFields, WarnLog } from '../core/event-log';
import { loggable, type RequestRecord } from '../core/request-record';

/**
 * stdout gets the log in writes of at least 4 KiB, and a line waits at most 100 ms: one write per request
 * line (a thread-pool round trip each, with asynchronous writes) cost more than the rest of the line's
 * logging. The writes are synchronous, as pino's default destination's: nothing is in flight when the process
 * exits, and what is buffered is written by the exit handler. A SIGKILL can lose the last 100 ms of lines
 * (never usage rows, which have their own journal).
 */
const MIN_WRITE_BYTES = 4096;
const MAX_LINE_WAIT_MS = 100;

type Buffered = pino.DestinationStream & { flush(): void; flushSync(): void };

export class AppLogger implements WarnLog {
  private readonly pino: pino.Logger;
  /** The default destination, which buffers; a destination passed in (tests, the CLI) is used as it is. */
  private readonly buffered: Buffered | undefined;
  private readonly destination: pino.DestinationStream;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(level: string = 'info', destination?: pino.DestinationStream) {
    if (!destination) {
      const buffered = pino.destination({ sync: true, minLength: MIN_WRITE_BYTES }) as Buffered;
      process.once('exit', () => buffered.flushSync());
      this.buffered = buffered;
    }
    this.destination = destination ?? this.buffered!;
    this.pino = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, this.destination);
  }

  /**
   * One line per finished request, byte for byte what pino writes for `{evt: 'request', ...metadata}` with
   * the record's time as the line's (logger.spec.ts compares them), but from one JSON.stringify of the allowlisted record: pino's
   * per-field serialisation of a spread copy was ~3 % of a request's CPU and ~7 % of its allocated bytes.
   */
  request(record: RequestRecord): void {
    if (!this.pino.isLevelEnabled('info')) return;
    const metadata = loggable(record);
    // The record's own time (when the request ended) is the line's: one "time" key, not two.
    const time = metadata.time ?? new Date().toISOString();
    metadata.time = undefined;
    const fields = JSON.stringify(metadata);
    const rest = fields === '{}' ? '}' : `,${fields.slice(1)}`;
    this.destination.write(`{"level":30,"time":${JSON.stringify(time)},"evt":"request"${rest}\n`);
    this.flushSoon();
  }

  event(evt: string, fields: EventFields = {}): void {
    this.pino.info({ evt, ...fields });
    this.flushSoon();
  }

  warn(evt: string, fields: EventFields = {}): void {
    this.pino.warn({ evt, ...fields });
    this.flushSoon();
  }

  /** Logs an unexpected error by class, code and stack frames only; the message line is dropped. */
  error(evt: string, err: unknown, fields: EventFields = {}): void {
    const e = err as { name?: unknown; code?: unknown; stack?: unknown };
    const frames =
      typeof e.stack === 'string' ? e.stack.split('\n').filter((l) => l.trimStart().startsWith('at ')) : [];
    this.pino.error({
      evt,
      ...fields,
      errorClass: typeof e.name === 'string' ? e.name : typeof err,
      errorCode: typeof e.code === 'string' || typeof e.code === 'number' ? e.code : undefined,
      frames: frames.slice(0, 8).join('\n'),
    });
    this.flushSoon();
  }

  flush(): void {
    this.pino.flush();
  }

  private flushSoon(): void {
    if (!this.buffered || this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.buffered!.flush();
    }, MAX_LINE_WAIT_MS).unref();
  }
}
