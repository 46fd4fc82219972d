// The SSE relay as a stream: upstream bytes in, client bytes out, usage and errors reported on the side.
// Chunk boundaries are not event boundaries; the output must not depend on where the bytes were cut.
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { ApiError, type ErrorCode } from '../core/errors';
import { SseRelayTransform, errorEvent, type Usage } from './sse-relay.transform';

const DONE = 'data: [DONE]\n\n';
const event = (data: unknown) => `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
const delta = (content: string) => ({ id: 'c1', choices: [{ index: 0, delta: { content } }] });
const usage = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 };
const usageChunk = { id: 'c1', choices: [], usage };
const upstreamError = (status = 200) =>
  errorEvent(new ApiError('upstream_error', { upstreamStatus: status }));

function relayWithReports(dropUsageChunk = false) {
  const reports = { firstEvents: 0, usage: [] as Usage[], errors: [] as ErrorCode[] };
  const relay = new SseRelayTransform({
    dropUsageChunk,
    onFirstEvent: () => reports.firstEvents++,
    onUsage: (u) => reports.usage.push(u),
    onError: (code) => reports.errors.push(code),
  });
  return { relay, reports };
}

/** Pipes the chunks through a relay and returns what the client got, byte for byte, and the reports. */
async function relayed(chunks: readonly (string | Buffer)[], dropUsageChunk = false) {
  const { relay, reports } = relayWithReports(dropUsageChunk);
  const out: Buffer[] = [];
  const client = new Writable({ write: (chunk: Buffer, _enc, done) => (out.push(chunk), done()) });
  await pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), relay, client);
  return { out: Buffer.concat(out), text: Buffer.concat(out).toString(), ...reports };
}

/** Writes one chunk and waits until the relay has taken it. */
const written = (relay: SseRelayTransform, chunk: string | Buffer) =>
  new Promise<void>((resolve, reject) => relay.write(chunk, (err) => (err ? reject(err) : resolve())));

describe('SseRelayTransform', () => {
  it('passes each event on as soon as its last byte arrives, not before', async () => {
    const { relay, reports } = relayWithReports();
    const first = event(delta('Hel'));
    await written(relay, first.slice(0, 12));
    expect(relay.read()).toBeNull(); // half an event is held back
    expect(reports.firstEvents).toBe(0);
    await written(relay, first.slice(12));
    expect(String(relay.read())).toBe(first);
    expect(reports.firstEvents).toBe(1);
    // Two events and the start of a third in one chunk: the two complete ones come out together.
    const [second, third] = [event(delta('lo')), event(delta('!'))];
    await written(relay, second + third + 'data: {"id"');
    expect(String(relay.read())).toBe(second + third);
    await written(relay, ':"c1","choices":[]}\n\n' + DONE);
    expect(String(relay.read())).toBe('data: {"id":"c1","choices":[]}\n\n' + DONE);
    expect(reports.firstEvents).toBe(1);
    relay.end().resume();
    await once(relay, 'end');
    expect(reports.errors).toEqual([]);
  });

  it('relays a write made just before end, then ends cleanly after [DONE]', async () => {
    const { relay, reports } = relayWithReports();
    const out: Buffer[] = [];
    relay.on('data', (chunk: Buffer) => out.push(chunk));
    relay.write(event(delta('last words')));
    relay.end(DONE);
    await once(relay, 'end');
    expect(Buffer.concat(out).toString()).toBe(event(delta('last words')) + DONE);
    expect(reports.errors).toEqual([]);
  });

  it('is byte-exact for canonical events, multi-byte characters cut in half included', async () => {
    const input = event(delta('Grüße, 世界 🌍')) + event(usageChunk) + DONE;
    const bytes = Buffer.from(input);
    const cut = bytes.indexOf(Buffer.from('🌍')) + 2; // inside the 4-byte emoji
    const { out } = await relayed([bytes.subarray(0, cut), bytes.subarray(cut)]);
    expect(out.equals(bytes)).toBe(true);
  });

  it('takes usage from the final chunk and hides that chunk unless the client asked for it', async () => {
    const stream = [event(delta('hi')), event(usageChunk), DONE];
    const asked = await relayed(stream, false);
    expect(asked.usage).toEqual([usage]);
    expect(asked.text).toBe(stream.join(''));
    const notAsked = await relayed(stream, true);
    expect(notAsked.usage).toEqual([usage]);
    expect(notAsked.text).toBe(event(delta('hi')) + DONE);
  });

  it('keeps a chunk that carries usage and choices even when hiding the usage-only chunk', async () => {
    const both = { ...delta('end'), usage };
    const { text, usage: seen } = await relayed([event(both), DONE], true);
    expect(text).toBe(event(both) + DONE);
    expect(seen).toEqual([usage]);
  });

  it('relays nothing after [DONE] and reports no error for a stream that completed', async () => {
    const { text, errors } = await relayed([event(delta('a')), DONE, event(delta('late')), DONE]);
    expect(text).toBe(event(delta('a')) + DONE);
    expect(errors).toEqual([]);
  });

  it('ends a stream that closed without [DONE] with an error event, so it never looks complete', async () => {
    const { text, errors } = await relayed([event(delta('cut sh'))]);
    expect(text).toBe(event(delta('cut sh')) + upstreamError());
    expect(errors).toEqual(['upstream_error']);
  });

  it('relays a data line that is not JSON as it came, and takes no usage from it', async () => {
    const broken = 'data: {"usage": {"prompt_tokens": 1,\n\n';
    const { text, usage: seen, errors } = await relayed([broken, DONE]);
    expect(text).toBe(broken + DONE);
    expect(seen).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('drops comments and keep-alives; they do not count as the first event', async () => {
    const { relay, reports } = relayWithReports();
    await written(relay, ': keep-alive\n\n:\n\n');
    expect(relay.read()).toBeNull();
    expect(reports.firstEvents).toBe(0);
    const { text } = await relayed([': ping\n\n', event(delta('x')), ':\n\n', DONE]);
    expect(text).toBe(event(delta('x')) + DONE);
  });

  it('joins a multi-line data field back into one event with its lines', async () => {
    const { text } = await relayed(['data: line one\ndata: line two\n\n', DONE]);
    expect(text).toBe('data: line one\ndata: line two\n\n' + DONE);
  });

  it('replaces an upstream error event with a catalogue error, never the upstream text, and stops there', async () => {
    const secret = { error: { message: 'prompt was: my secret', type: 'BadRequestError', code: 400 } };
    const { text, errors } = await relayed([event(delta('a')), event(secret), event(delta('b')), DONE]);
    expect(text).toBe(event(delta('a')) + upstreamError());
    expect(text).not.toContain('secret');
    expect(errors).toEqual(['upstream_error']);
  });

  it('relays a chunk with choices that also has an "error" key: it is content, not an error', async () => {
    const chunk = { ...delta('ok'), error: null };
    const { text, errors } = await relayed([event(chunk), DONE]);
    expect(text).toBe(event(chunk) + DONE);
    expect(errors).toEqual([]);
  });

  it('ends the stream with the given error when the upstream fails mid-stream (fail)', async () => {
    const { relay, reports } = relayWithReports();
    await written(relay, event(delta('partial')));
    const out = [String(relay.read())];
    relay.on('data', (chunk: Buffer) => out.push(String(chunk)));
    relay.fail(new ApiError('upstream_timeout'));
    await once(relay, 'end');
    expect(out.join('')).toBe(event(delta('partial')) + errorEvent(new ApiError('upstream_timeout')));
    expect(reports.errors).toEqual(['upstream_timeout']);
  });

  it('adds nothing when fail comes after [DONE] was relayed', async () => {
    const { relay, reports } = relayWithReports();
    const out: string[] = [];
    relay.on('data', (chunk: Buffer) => out.push(String(chunk)));
    relay.write(event(delta('all')) + DONE);
    relay.fail(new ApiError('upstream_connection_failed'));
    await once(relay, 'end');
    expect(out.join('')).toBe(event(delta('all')) + DONE);
    expect(reports.errors).toEqual([]);
  });
});

describe('SseRelayTransform, any chunking (fuzz)', () => {
  // Contents of any code points (JSON-escaped, so newlines stay inside one data line), keep-alive comments
  // between events, CRLF or LF line ends, and the bytes cut anywhere (inside a UTF-8 sequence too).
  const stream = fc.record({
    contents: fc.array(fc.string({ unit: 'binary', maxLength: 20 }), { maxLength: 8 }),
    keepAlives: fc.array(fc.boolean(), { maxLength: 8 }),
    crlf: fc.boolean(),
    tokens: fc.nat(100_000),
    dropUsageChunk: fc.boolean(),
    cuts: fc.array(fc.nat(2_000), { maxLength: 12 }),
  });

  it('gives the same bytes and usage as the events themselves, whatever the cuts (300 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(stream, async ({ contents, keepAlives, crlf, tokens, dropUsageChunk, cuts }) => {
        const u = { prompt_tokens: tokens, completion_tokens: 1, total_tokens: tokens + 1 };
        const events = [...contents.map((c) => event(delta(c))), event({ id: 'c1', choices: [], usage: u })];
        const input = events
          .map((e, i) => (keepAlives[i] ? ': keep-alive\n\n' : '') + e)
          .concat(DONE)
          .join('')
          .replaceAll('\n', crlf ? '\r\n' : '\n');
        const bytes = Buffer.from(input);
        const at = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((from, i) => bytes.subarray(from, at[i] ?? bytes.length));

        const result = await relayed(chunks, dropUsageChunk);
        const expected = (dropUsageChunk ? events.slice(0, -1) : events).join('') + DONE;
        expect(result.text).toBe(expected);
        expect(result.usage).toEqual([u]);
        expect(result.errors).toEqual([]);
        expect(result.firstEvents).toBe(1);
      }),
      { numRuns: 300 },
    );
  });
});
