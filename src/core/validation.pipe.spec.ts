// The pipe in front of every JSON endpoint, fuzzed: whatever the body, it is passed on untouched or refused
// with a catalogue ApiError, and no refusal quotes anything the client sent.
import 'reflect-metadata';
import { IsString } from 'class-validator';
import fc from 'fast-check';
import { ChatCompletionDto } from '../gateway/chat/chat-completion.dto';
import { ApiError } from './errors';
import { BodyValidationPipe } from './validation.pipe';

/** Every string the client sends carries this tag, so any echo of input is visible in the output. */
const TAG = 'CNRY';
const tagged = fc.string({ maxLength: 12 }).map((s) => `${TAG}${s}`);
const leaf = fc.oneof(
  tagged,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(0, -1, 1, 2, 2.5, 129, 1e308),
);
const anyValue = fc.anything({ key: tagged, values: [leaf], maxDepth: 3, maxKeys: 5 });
const maybe = <T>(known: fc.Arbitrary<T>) => fc.oneof(known, anyValue);

const role = maybe(fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'function'));
const part = fc.record(
  { type: maybe(fc.constantFrom('text', 'image_url')), text: maybe(tagged) },
  { requiredKeys: [] },
);
const message = fc.record(
  {
    role,
    content: fc.oneof(tagged, fc.constant(null), fc.array(maybe(part), { maxLength: 3 }), anyValue),
    name: maybe(tagged),
    tool_calls: anyValue,
    tool_call_id: maybe(tagged),
  },
  { requiredKeys: [] },
);
/** Records shaped like chat requests: the real field names, with right, wrong and absent values. */
const chatLike = fc.record(
  {
    model: maybe(fc.constantFrom('Qwen/Qwen3.6-35B-A3B-FP8', 'qwen', 'auto', '')),
    messages: maybe(fc.array(maybe(message), { maxLength: 4 })),
    stream: anyValue,
    stream_options: maybe(fc.record({ include_usage: anyValue }, { requiredKeys: [] })),
    temperature: anyValue,
    top_p: anyValue,
    n: anyValue,
    max_tokens: anyValue,
    stop: maybe(fc.array(tagged, { maxLength: 6 })),
    logit_bias: anyValue,
    top_logprobs: anyValue,
    tools: maybe(fc.array(anyValue, { maxLength: 3 })),
    tool_choice: anyValue,
    response_format: anyValue,
    user: anyValue,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(chatLike, anyValue, fc.jsonValue().map(tagStrings));

/** fc.jsonValue's strings and keys, tagged. */
function tagStrings(value: unknown): unknown {
  if (typeof value === 'string') return `${TAG}${value}`;
  if (Array.isArray(value)) return value.map(tagStrings);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [`${TAG}${k}`, tagStrings(v)]));
  return value;
}

function outcome(pipe: BodyValidationPipe<object>, input: unknown): { value?: unknown; error?: unknown } {
  try {
    return { value: pipe.transform(input) };
  } catch (error) {
    return { error };
  }
}

function expectQuiet(error: unknown): asserts error is ApiError {
  expect(error).toBeInstanceOf(ApiError);
  const apiError = error as ApiError;
  expect(apiError.status).toBeGreaterThanOrEqual(400);
  expect(apiError.status).toBeLessThan(500);
  expect(apiError.message).not.toContain(TAG);
  expect(JSON.stringify(apiError.toBody())).not.toContain(TAG);
}

describe('BodyValidationPipe(ChatCompletionDto)', () => {
  const pipe = new BodyValidationPipe(ChatCompletionDto);

  it('returns the input untouched or throws an ApiError that quotes none of it (1,000 runs)', () => {
    fc.assert(
      fc.property(body, (input) => {
        const { value, error } = outcome(pipe, input);
        if (error === undefined) expect(value).toBe(input);
        else expectQuiet(error);
      }),
      { numRuns: 1000 },
    );
  });

  it('reports a value of the wrong type as such, before its range or size', () => {
    const base = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
    const reasonFor = (extra: object) => (outcome(pipe, { ...base, ...extra }).error as ApiError).toBody();
    expect(reasonFor({ temperature: 'hot' }).error.message).toBe(
      'Invalid value for temperature: must be a number.',
    );
    expect(reasonFor({ messages: 'hi' }).error).toMatchObject({
      code: 'invalid_request_error',
      param: 'messages',
    });
    expect(reasonFor({ messages: Array(1001).fill(base.messages[0]) }).error.code).toBe('too_many_messages');
  });
});

class StrictDto {
  @IsString() name!: string;
}

describe('BodyValidationPipe in strict mode', () => {
  it('refuses an unknown field without naming it', () => {
    fc.assert(
      fc.property(tagged, anyValue, (key, value) => {
        const { error } = outcome(new BodyValidationPipe(StrictDto, true), { name: 'n', [key]: value });
        expectQuiet(error);
        expect(error.param).toBe('body');
      }),
      { numRuns: 200 },
    );
  });
});
