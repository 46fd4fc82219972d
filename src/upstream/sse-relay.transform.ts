// Relays an upstream SSE stream event by event, as each arrives. Reads only what metering needs: the
// usage object. Drops the usage-only chunk the client did not ask for, replaces an upstream error event
// with a catalogue error, and makes sure a stream never looks complete when it was not ([DONE] only once).
import { Transform, type TransformCallback } from 'node:stream';
import { createParser, type EventSourceParser } from 'eventsource-parser';
import { ApiError, type ErrorCode } from '../core/errors';
import { parseJsonObject } from './sse-events.transform';

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

export interface SseRelayOptions {
  /** The client did not ask for `stream_options.include_usage`: hide the chunk we asked for on its behalf. */
  dropUsageChunk: boolean;
  onFirstEvent: () => void;
  onUsage: (usage: Usage) => void;
  onError: (code: ErrorCode) => void;
}

const DONE = 'data: [DONE]\n\n';

export function errorEvent(error: ApiError): string {
  return `data: ${JSON.stringify(error.toBody())}\n\n${DONE}`;
}

export class SseRelayTransform extends Transform {
  private readonly parser: EventSourceParser;
  private readonly decoder = new TextDecoder();
  private started = false;
  /** [DONE] or our error event was sent: nothing more may follow. */
  private closedForClient = false;

  constructor(private readonly options: SseRelayOptions) {
    super();
    this.parser = createParser({ onEvent: (event) => this.relayEvent(event.data) });
  }

  /** Ends the client stream with an error event (upstream reset, idle timeout, ...). */
  fail(error: ApiError): void {
    if (!this.closedForClient) {
      this.closedForClient = true;
      this.options.onError(error.code);
      this.push(errorEvent(error));
    }
    this.end();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.parser.feed(this.decoder.decode(chunk, { stream: true }));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (!this.closedForClient) {
      // The upstream closed cleanly but never said [DONE]: the answer may be cut short.
      this.closedForClient = true;
      this.options.onError('upstream_error');
      this.push(errorEvent(new ApiError('upstream_error', { upstreamStatus: 200 })));
    }
    done();
  }

  private relayEvent(data: string): void {
    if (this.closedForClient) return;
    if (!this.started) {
      this.started = true;
      this.options.onFirstEvent();
    }
    if (data === '[DONE]') {
      this.closedForClient = true;
      this.push(DONE);
      return;
    }
    // Substring tests first: only chunks that can carry usage or an error are parsed.
    if (data.includes('"error"') || data.includes('"usage"')) {
      const chunk = parseJsonObject(data);
      if (chunk && 'error' in chunk && !('choices' in chunk)) {
        this.closedForClient = true;
        this.options.onError('upstream_error');
        this.push(errorEvent(new ApiError('upstream_error', { upstreamStatus: 200 })));
        return;
      }
      const usage = chunk?.usage;
      if (usage && typeof usage === 'object') {
        this.options.onUsage(usage);
        const choices = chunk.choices;
        if (this.options.dropUsageChunk && Array.isArray(choices) && choices.length === 0) return;
      }
    }
    this.push(`data: ${data.replaceAll('\n', '\ndata: ')}\n\n`);
  }
}
