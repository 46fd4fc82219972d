import type { Readable } from 'node:stream';

const SSE = 'text/event-stream; charset=utf-8';

export interface AnswerOptions {
  /** 200 unless said otherwise (503 for a readiness check that fails, 304 for an unchanged file). */
  status?: number;
  headers?: Record<string, string>;
}

/**
 * What a handler answers, as it returns it; the one reply writer (src/http/reply-writer.ts) sends it.
 * Handlers never touch the HTTP reply, so what they do can be called and tested without HTTP.
 */
export class Answer {
  private constructor(
    readonly status: number,
    readonly body: string | Buffer | Readable | undefined,
    /** Unset only for an answer without a body. */
    readonly contentType: string | undefined,
    readonly headers: Readonly<Record<string, string>>,
    /** An event stream: sent as it is produced, never cached by a proxy. */
    readonly streamed: boolean,
  ) {}

  /** A JSON answer; a string is sent as it is (an upstream's answer relayed untouched). */
  static json(body: string | object, options: AnswerOptions & { contentType?: string } = {}): Answer {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const contentType = options.contentType ?? 'application/json';
    return new Answer(options.status ?? 200, text, contentType, options.headers ?? {}, false);
  }

  /** Bytes or text of the given media type (an image, a transcript as text, SRT or VTT, a report, metrics). */
  static bytes(body: string | Buffer, contentType: string, options: AnswerOptions = {}): Answer {
    return new Answer(options.status ?? 200, body, contentType, options.headers ?? {}, false);
  }

  /** Events as they come, server-sent events unless another media type is named (Gemini's JSON array). */
  static stream(events: Readable, contentType = SSE): Answer {
    return new Answer(200, events, contentType, {}, true);
  }

  /** Headers only (304 Not Modified). */
  static empty(status: number, headers: Record<string, string> = {}): Answer {
    return new Answer(status, undefined, undefined, headers, false);
  }
}
