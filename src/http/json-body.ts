// Reads a JSON body and hands its text to the JSON parser. Fastify's own reader (parseAs 'buffer') keeps the
// chunks, joins them into one Buffer at the end and the parser decodes that into a string: two copies of the
// whole body made in one go, after the last byte, on the event loop (~150 ms for a body at the 25 MiB limit,
// most of it the first touch of fresh memory). Here each chunk is decoded as it arrives, so only joining the
// decoded pieces is left for the end.
//
// The answers are Fastify's own: the same limit (the route's bodyLimit), the same errors for a body too
// large, a Content-Length that does not match the bytes, and a stream that fails (the key counter's refusal
// among them). StringDecoder decodes chunk by chunk exactly as Buffer#toString decodes the whole (broken UTF-8
// included: each bad sequence becomes U+FFFD either way), so the parser sees the same text as before.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { errorCodes, type FastifyBodyParser, type FastifyRequest } from 'fastify';

type Done = (err: Error | null, body?: unknown) => void;

/** A content-type parser (no parseAs: it reads the stream itself) that decodes as it reads. */
export function readJsonBody(parseText: FastifyBodyParser<string>) {
  return (req: FastifyRequest, payload: Readable, done: Done): void => {
    const limit = req.routeOptions.bodyLimit;
    const contentLength = Number(req.headers['content-length']);
    if (contentLength > limit) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    const decoder = new StringDecoder('utf8');
    const pieces: string[] = [];
    let received = 0;
    const stop = () => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onEnd);
    };
    function onData(chunk: Buffer): void {
      received += chunk.length;
      if (received > limit) {
        stop();
        done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      pieces.push(decoder.write(chunk));
    }
    function onEnd(err?: Error & { statusCode?: unknown }): void {
      stop();
      if (err) {
        if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
        done(err);
        return;
      }
      if (!Number.isNaN(contentLength) && received !== contentLength) {
        done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        return;
      }
      pieces.push(decoder.end());
      // As Fastify calls a body parser: with `done`, or awaited when it returns a promise.
      const parsed = parseText(req, pieces.join(''), done);
      if (parsed instanceof Promise) parsed.then((body) => done(null, body), done);
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onEnd);
    payload.resume();
  };
}
