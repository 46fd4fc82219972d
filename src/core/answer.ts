import type { Readable } from 'node:stream';

const SSE = 'text/event-stream; charset=utf-8';

/**
 * A successful answer as a handler returns it; the one reply writer (src/http/reply-writer.ts) sends it.
 * Handlers never touch the HTTP reply, so what they do can be called and tested without HTTP.
 */
export class Answer {
  private constructor(
    readonly body: string | Buffer | Readable,
    readonly contentType: string,
    readonly headers: Readonly<Record<string, string>>,
    /** An event stream: sent as it is produced, never cached by a proxy. */
    readonly streamed: boolean,
  ) {}

  /** A JSON answer; a string is sent as it is (an upstream's answer relayed untouched). */
  static json(
    body: string | object,
    headers: Record<string, string> = {},
    contentType = 'application/json',
  ): Answer {
    return new Answer(typeof body === 'string' ? body : JSON.stringify(body), contentType, headers, false);
  }

  /** Bytes or text of the given media type (an image, a transcript as text, SRT or VTT). */
  static bytes(body: string | Buffer, contentType: string, headers: Record<string, string> = {}): Answer {
    return new Answer(body, contentType, headers, false);
  }

  /** Events as they come, server-sent events unless another media type is named (Gemini's JSON array). */
  static stream(events: Readable, contentType = SSE): Answer {
    return new Answer(events, contentType, {}, true);
  }
}
