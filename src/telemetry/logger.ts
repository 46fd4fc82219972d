// The appliance's only logger: pino to stdout, fed metadata records and fixed event names only.
// Nothing here accepts free text from a request; error logs carry class names and codes, not messages.
import pino from 'pino';
import { toMetadata, type RequestMetadata } from '../compliance/request-metadata';

export type EventFields = Readonly<Record<string, string | number | boolean | undefined>>;

export class AppLogger {
  private readonly pino: pino.Logger;

  constructor(
    level: string = 'info',
    destination: pino.DestinationStream = pino.destination({ sync: false }),
  ) {
    this.pino = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  }

  request(record: RequestMetadata): void {
    this.pino.info({ evt: 'request', ...toMetadata(record as unknown as Record<string, unknown>) });
  }

  event(evt: string, fields: EventFields = {}): void {
    this.pino.info({ evt, ...fields });
  }

  warn(evt: string, fields: EventFields = {}): void {
    this.pino.warn({ evt, ...fields });
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
  }

  flush(): void {
    this.pino.flush();
  }
}
