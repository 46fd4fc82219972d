// The general bound on a JSON body's shape: no object in it may have more than `server.maxObjectKeys` keys,
// and nothing may be nested deeper than MAX_BODY_DEPTH (validating nested DTOs and JSON.stringify recurse, so
// a body nested thousands deep would overflow the stack; checked here, no walk of the parsed body is needed).
// It is checked on the bytes as they arrive, before the body is parsed: parsing, validating, copying and
// forwarding a body all cost more per key than this scan, and an object of tens of thousands of keys is
// never a real request. Scanning chunk by chunk never blocks the event loop for long, and a body over the
// bound is refused without being read to its end or parsed.
//
// The scanner follows only JSON's structure (strings, escapes, braces, brackets, commas); it does not
// validate. Broken JSON goes on to the parser, which refuses it.
import { Transform, type TransformCallback } from 'node:stream';
import { ApiError } from '../core/errors';

/**
 * Top-level parameters of the APIs Hunze serves that hold objects. An oversized object under one of them is
 * reported under its name; anywhere else the error names `body`, since any other key is the client's text
 * and an error never quotes input.
 */
const NAMED_OBJECT_PARAMS = new Set([
  'logit_bias',
  'metadata',
  'tools',
  'functions',
  'tool_choice',
  'response_format',
  'stream_options',
  'messages',
  'input',
  'prompt',
  'contents',
  'systemInstruction',
  'generationConfig',
  'toolConfig',
  'safetySettings',
]);
/** Longest name in NAMED_OBJECT_PARAMS; longer top-level keys are not collected. */
const MAX_NAMED_LENGTH = Math.max(...[...NAMED_OBJECT_PARAMS].map((name) => name.length));

/** JSON nesting a body may have; real requests (tool schemas included) stay far below it. */
export const MAX_BODY_DEPTH = 100;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
/** Bytes of a string scanned one by one before a search: most keys and values are shorter. */
const SHORT_RUN = 32;

/** The position of `byte` from `from` on, or the end of `bytes`. */
function indexOrEnd(bytes: Buffer, byte: number, from: number): number {
  const at = bytes.indexOf(byte, from);
  return at === -1 ? bytes.length : at;
}

interface Container {
  isObject: boolean;
  keys: number;
  /** In an object: the next string is a key. */
  expectKey: boolean;
  /** The top-level parameter this container sits under, when it is a named one. */
  param: string | undefined;
}

/**
 * Counts the keys of every object in a JSON text fed to it in chunks, and how deep it nests; throws when an
 * object has too many keys or the nesting goes too deep.
 */
export class ObjectKeysCounter {
  private readonly stack: Container[] = [];
  private inString = false;
  private escaped = false;
  /** The top-level key being read (bytes), while it may still be a named parameter. */
  private topKey: number[] | undefined;
  /** The last complete top-level key, when it names a parameter. */
  private topParam: string | undefined;

  constructor(private readonly max: number) {}

  feed(chunk: Uint8Array): void {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Where the next quote and backslash of this chunk are, once looked up: long strings (a prompt, a base64
    // image) are skipped with Buffer#indexOf, not byte by byte.
    let quoteAt = -1;
    let backslashAt = -1;
    for (let i = 0; i < bytes.length; i++) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        if (!this.topKey) {
          const shortRunEnd = Math.min(i + SHORT_RUN, bytes.length);
          while (i < shortRunEnd && bytes[i] !== QUOTE && bytes[i] !== BACKSLASH) i++;
          if (i === shortRunEnd && i < bytes.length) {
            if (quoteAt < i) quoteAt = indexOrEnd(bytes, QUOTE, i);
            if (backslashAt < i) backslashAt = indexOrEnd(bytes, BACKSLASH, i);
            i = Math.min(quoteAt, backslashAt);
          }
          if (i >= bytes.length) return;
        }
        const byte = bytes[i]!;
        if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.endString();
        else this.collect(byte);
        continue;
      }
      const byte = bytes[i]!;
      switch (byte) {
        case QUOTE:
          this.startString();
          break;
        case OPEN_OBJECT:
        case OPEN_ARRAY:
          if (this.stack.length === MAX_BODY_DEPTH) throw nestedTooDeep();
          this.stack.push({
            isObject: byte === OPEN_OBJECT,
            keys: 0,
            expectKey: byte === OPEN_OBJECT,
            param: this.stack.length === 1 ? this.topParam : this.stack.at(-1)?.param,
          });
          break;
        case CLOSE_OBJECT:
        case CLOSE_ARRAY:
          this.stack.pop();
          break;
        case COMMA: {
          const top = this.stack.at(-1);
          if (top?.isObject) top.expectKey = true;
          break;
        }
      }
    }
  }

  private startString(): void {
    this.inString = true;
    const top = this.stack.at(-1);
    if (!top?.isObject || !top.expectKey) return;
    top.expectKey = false;
    if (++top.keys > this.max) {
      const param = this.stack.length === 1 ? undefined : top.param;
      throw new ApiError('too_many_keys', { param: param ?? 'body', max: this.max }, param ?? 'body');
    }
    if (this.stack.length === 1) {
      this.topKey = [];
      this.topParam = undefined;
    }
  }

  private collect(byte: number): void {
    if (this.topKey!.length < MAX_NAMED_LENGTH) this.topKey!.push(byte);
    else this.topKey = undefined; // longer than any named parameter
  }

  private endString(): void {
    this.inString = false;
    if (!this.topKey) return;
    const name = String.fromCharCode(...this.topKey);
    this.topParam = NAMED_OBJECT_PARAMS.has(name) ? name : undefined;
    this.topKey = undefined;
  }
}

function nestedTooDeep(): ApiError {
  return new ApiError('invalid_request_error', { param: 'body', reason: 'is nested too deeply' }, 'body');
}

/** Passes a JSON body through unchanged, failing the stream with a 400 over the bound. */
export class ObjectKeysBound extends Transform {
  private readonly counter: ObjectKeysCounter;

  constructor(max: number) {
    super();
    this.counter = new ObjectKeysCounter(max);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.counter.feed(chunk);
    } catch (refused) {
      callback(refused as Error);
      return;
    }
    callback(null, chunk);
  }
}
