// The key bound counts what JSON.parse would build: for any JSON text, fed in any chunks, it refuses exactly
// when some object has more keys than the bound, naming a known top-level parameter or else `body`.
import fc from 'fast-check';
import { ApiError } from '../core/errors';
import { MAX_BODY_DEPTH, ObjectKeysBound, ObjectKeysCounter } from './object-keys-bound';

/** The most keys of any one object in a parsed JSON value. */
function mostKeys(value: unknown): number {
  if (Array.isArray(value)) return Math.max(0, ...value.map(mostKeys));
  if (typeof value !== 'object' || value === null) return 0;
  return Math.max(Object.keys(value).length, ...Object.values(value).map(mostKeys));
}

/** The error the counter throws for `text` fed in pieces cut at `cuts`, or undefined. */
function refusal(text: string, max: number, cuts: number[] = []): ApiError | undefined {
  const bytes = Buffer.from(text);
  const counter = new ObjectKeysCounter(max);
  let from = 0;
  try {
    for (const cut of [...cuts.filter((c) => c < bytes.length).sort((a, b) => a - b), bytes.length]) {
      counter.feed(bytes.subarray(from, cut));
      from = cut;
    }
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  return undefined;
}

const objectOf = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

describe('ObjectKeysCounter', () => {
  it('refuses exactly the JSON texts with an object over the bound, however the bytes are cut (2,000 runs)', () => {
    // (JSON.stringify never writes a key twice; with duplicates the counter would count each, JSON.parse one.)
    const json = fc.jsonValue({ maxDepth: 4 }).filter((v) => JSON.stringify(v) !== undefined);
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 6 }), fc.array(fc.nat(400)), (value, max, cuts) => {
        const text = JSON.stringify(value, null, cuts.length % 2 ? 1 : undefined);
        const refused = refusal(text, max, cuts);
        expect(refused !== undefined).toBe(mostKeys(value) > max);
        if (refused) expect(refused.toBody().error).toMatchObject({ code: 'too_many_keys' });
      }),
      { numRuns: 2000 },
    );
  });

  it('skips long strings (searched, not scanned byte by byte) without losing a quote, escape or key (500 runs)', () => {
    // Strings longer than the counter's byte-by-byte run, full of JSON's structural characters and escapes.
    const tricky = fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', 'a', '\u00e9', ' ');
    const longText = fc.array(tricky, { minLength: 30, maxLength: 400 }).map((parts) => parts.join(''));
    const value = fc.dictionary(
      longText,
      fc.oneof(longText, fc.dictionary(longText, longText, { maxKeys: 5 })),
      {
        maxKeys: 6,
      },
    );
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 6 }), fc.array(fc.nat(4000)), (object, max, cuts) => {
        const refused = refusal(JSON.stringify(object), max, cuts);
        expect(refused !== undefined).toBe(mostKeys(object) > max);
      }),
      { numRuns: 500 },
    );
  });

  it(`accepts ${MAX_BODY_DEPTH} levels of nesting and refuses deeper bodies as their bytes arrive`, () => {
    const nested = (depth: number) => {
      let text = '{}'; // one level; each array one more
      for (let i = 2; i < depth; i++) text = `[${text}]`;
      return `{"model":"m","extra_body":${text}}`;
    };
    expect(refusal(nested(MAX_BODY_DEPTH), 10)).toBeUndefined();
    for (const depth of [MAX_BODY_DEPTH + 1, 200_000]) {
      const refused = refusal(nested(depth), 10, [7, 1000]);
      expect(refused?.toBody().error).toMatchObject({
        code: 'invalid_request_error',
        param: 'body',
        message: 'Invalid value for body: is nested too deeply.',
      });
    }
  });

  it('is not misled by braces, brackets, quotes and commas inside strings, or by escapes', () => {
    const tricky = { 'a{b': '}{,"[', 'c\\"': ['",{', '\\'], 'd"e': { 'x,y': '\u00e9\u{1f600}' } };
    expect(refusal(JSON.stringify(tricky), 3)).toBeUndefined();
    expect(refusal(JSON.stringify(tricky), 2)).toBeDefined();
  });

  it('names a known top-level parameter holding the oversized object, and `body` otherwise', () => {
    const base = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
    const paramOf = (body: unknown) => refusal(JSON.stringify(body), 10)?.param;
    expect(paramOf({ ...base, logit_bias: objectOf(11) })).toBe('logit_bias');
    expect(paramOf({ ...base, metadata: objectOf(11) })).toBe('metadata');
    const parameters = { type: 'object', properties: objectOf(11) };
    expect(paramOf({ ...base, tools: [{ type: 'function', function: { name: 'f', parameters } }] })).toBe(
      'tools',
    );
    expect(paramOf({ ...base, CNRY_field: objectOf(11) })).toBe('body'); // never the client's own key
    expect(paramOf({ ...base, ...objectOf(9) })).toBe('body'); // the body itself: 11 keys
    expect(paramOf([objectOf(11)])).toBe('body');
    expect(paramOf({ ...base, metadata: objectOf(10) })).toBeUndefined();
    const message = refusal(JSON.stringify({ CNRY_field: objectOf(11) }), 10)!.toBody().error.message;
    expect(message).toBe('An object in body has too many keys: at most 10 are accepted in any one object.');
  });
});

describe('ObjectKeysBound', () => {
  it('passes a body within the bound through unchanged and fails the stream over it', async () => {
    const read = async (text: string) => {
      const stream = new ObjectKeysBound(10);
      const out: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => out.push(chunk));
      const ended = new Promise<void>((resolve, reject) => stream.on('end', resolve).on('error', reject));
      stream.end(Buffer.from(text));
      await ended;
      return Buffer.concat(out).toString();
    };
    const within = JSON.stringify({ metadata: objectOf(10) });
    expect(await read(within)).toBe(within);
    await expect(read(JSON.stringify({ metadata: objectOf(11) }))).rejects.toMatchObject({
      code: 'too_many_keys',
      param: 'metadata',
    });
  });
});
