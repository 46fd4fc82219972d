// The one reply writer, on a real Fastify instance (inject, no socket): status, media type and headers as
// the answer says; streams sent as they come, uncached, and counted open until they close.
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { Answer } from '../core/answer';
import { writeAnswer } from './reply-writer';

function serverAnswering(answer: () => Answer, openStream?: () => () => void) {
  const app = Fastify();
  app.get('/', (_req, reply) => writeAnswer(reply, answer(), openStream));
  return app;
}

describe('writeAnswer', () => {
  it('sends a JSON answer as given, with its own headers', async () => {
    const app = serverAnswering(() => Answer.json('{"a":1}', { headers: { 'x-hunze-cache': 'hit' } }));
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8'); // Fastify adds the charset
    expect(res.headers['x-hunze-cache']).toBe('hit');
    expect(res.body).toBe('{"a":1}');
  });

  it('serializes an object, and sends another status when asked', async () => {
    const app = serverAnswering(() => Answer.json({ status: 'unavailable' }, { status: 503 }));
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unavailable' });
  });

  it('sends headers only for an empty answer', async () => {
    const app = serverAnswering(() => Answer.empty(304, { etag: '"x"' }));
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(304);
    expect(res.headers.etag).toBe('"x"');
    expect(res.body).toBe('');
  });

  it('streams events uncached and counts the stream open until it has ended', async () => {
    let open = 0;
    const openStream = () => {
      open += 1;
      let closed = false;
      return () => {
        if (closed) return;
        closed = true;
        open -= 1;
      };
    };
    let seenOpen = -1;
    const events = new Readable({ read() {} });
    const app = serverAnswering(() => {
      setImmediate(() => {
        seenOpen = open;
        events.push('data: 1\n\n');
        events.push(null);
      });
      return Answer.stream(events);
    }, openStream);
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-accel-buffering']).toBe('no');
    expect(res.body).toBe('data: 1\n\n');
    expect(seenOpen).toBe(1);
    expect(open).toBe(0);
  });
});
