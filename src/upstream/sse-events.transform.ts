// Base for transforms that reshape the relay's client-bound SSE (already normalised by SseRelayTransform:
// usage taken, upstream errors replaced by catalogue error events, [DONE] at most once). Chunk boundaries
// of a piped stream are not event boundaries, so the text is parsed again, event by event.
import { Transform, type TransformCallback } from 'node:stream';
import { createParser, type EventSourceParser } from 'eventsource-parser';

export abstract class SseEventsTransform extends Transform {
  private readonly parser: EventSourceParser;
  private readonly decoder = new TextDecoder();

  constructor() {
    super();
    this.parser = createParser({ onEvent: (event) => this.onData(event.data) });
  }

  /** One event's data (a JSON chunk, an error object, or `[DONE]`). */
  protected abstract onData(data: string): void;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.parser.feed(this.decoder.decode(chunk, { stream: true }));
    done();
  }
}

export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
