// The relayed OpenAI chat stream as Gemini's stream: each chunk becomes a GenerateContentResponse, framed as
// SSE (`data: {...}\r\n\r\n`, what `?alt=sse` and the Google SDKs use) or as the elements of one JSON array
// streamed piece by piece (the default without alt=sse). The chunk that finishes a candidate is held until
// the usage chunk that follows it, so the final response carries usageMetadata as Google's does.
import type { TransformCallback } from 'node:stream';
import { parseJsonObject, SseEventsTransform } from '../../upstream/sse-events.transform';
import { googleErrorFromEvent } from './gemini-errors';
import { fromChatChunk, usageMetadataOf, type GeminiResponse } from './gemini-response.translator';

export type GeminiStreamFormat = 'sse' | 'json-array';

export class GeminiStreamTransform extends SseEventsTransform {
  private pending: GeminiResponse | null = null;
  private sent = 0;
  private finished = false;

  constructor(
    private readonly modelId: string,
    private readonly format: GeminiStreamFormat,
  ) {
    super();
  }

  protected onData(data: string): void {
    if (this.finished) return;
    if (data === '[DONE]') return this.close();
    const event = parseJsonObject(data);
    if (!event) return;
    if ('error' in event && !('choices' in event)) {
      this.flushPending();
      this.sendResponse(googleErrorFromEvent(event));
      return this.close();
    }
    const response = fromChatChunk(event, this.modelId);
    if (response) {
      this.flushPending();
      if (response.candidates.some((c) => c.finishReason !== undefined)) this.pending = response;
      else this.sendResponse(response);
    }
    const usageMetadata = usageMetadataOf(event.usage);
    if (usageMetadata) {
      if (this.pending) this.pending.usageMetadata = usageMetadata;
      else this.sendResponse({ candidates: [], usageMetadata, modelVersion: this.modelId });
    }
  }

  override _flush(done: TransformCallback): void {
    this.close();
    done();
  }

  private flushPending(): void {
    if (this.pending) this.sendResponse(this.pending);
    this.pending = null;
  }

  private close(): void {
    if (this.finished) return;
    this.flushPending();
    this.finished = true;
    if (this.format === 'json-array') this.push(this.sent === 0 ? '[]' : '\n]');
  }

  private sendResponse(value: object): void {
    const json = JSON.stringify(value);
    if (this.format === 'sse') this.push(`data: ${json}\r\n\r\n`);
    else this.push(`${this.sent === 0 ? '[' : ',\r\n'}${json}`);
    this.sent += 1;
  }
}
