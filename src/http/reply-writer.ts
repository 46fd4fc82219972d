// The one place a successful answer is written. Handlers return an `Answer` (src/core/answer.ts) and never
// see the reply; Nest hands what a handler returned to its HTTP adapter's `reply()`, which this adapter
// routes here. Errors take the other path (the exception filter in http-setup.ts).
import type { Readable } from 'node:stream';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { Answer } from '../core/answer';

/** `hunze_open_streams`: told when a stream opens; the returned function closes it (once). */
export type StreamGauge = () => () => void;

export function writeAnswer(reply: FastifyReply, answer: Answer, openStream?: StreamGauge): FastifyReply {
  void reply.status(answer.status);
  if (answer.contentType) void reply.header('content-type', answer.contentType);
  for (const name in answer.headers) void reply.header(name, answer.headers[name]);
  if (answer.streamed) {
    void reply.header('cache-control', 'no-cache').header('x-accel-buffering', 'no');
    if (openStream) countOpen(openStream, answer.body as Readable, reply);
  }
  return reply.send(answer.body);
}

/** Open until the stream ends or the client connection closes (finished, aborted, or gone already). */
function countOpen(openStream: StreamGauge, events: Readable, reply: FastifyReply): void {
  const closed = openStream();
  events.once('close', closed);
  reply.raw.once('close', closed);
  if (reply.raw.closed) closed();
}

/** Nest's Fastify adapter, with answers written by `writeAnswer`; anything else as Nest writes it. */
export class AnswerWritingAdapter extends FastifyAdapter {
  private openStream: StreamGauge | undefined;

  /** Where open streams are counted (metering's gauge, known once the app is built). */
  countStreamsWith(openStream: StreamGauge): void {
    this.openStream = openStream;
  }

  override reply(response: unknown, body: unknown, statusCode?: number): FastifyReply {
    if (body instanceof Answer) return writeAnswer(response as FastifyReply, body, this.openStream);
    return super.reply(response as FastifyReply, body, statusCode);
  }
}
