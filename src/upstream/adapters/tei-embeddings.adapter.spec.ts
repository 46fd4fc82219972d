import { ApiError } from '../../core/errors';
import type { UpstreamPools } from '../upstream-pools.service';
import { TeiEmbeddingsAdapter } from './tei-embeddings.adapter';

const adapter = new TeiEmbeddingsAdapter({} as UpstreamPools);
const floats = [0.5, -0.25, 1e-3];
const base64 = (values: number[]) => {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
};
const answer = (data: unknown, usage: unknown = { prompt_tokens: 4, total_tokens: 4 }) => ({
  object: 'list',
  data,
  model: 'm',
  usage,
});

/** One batch of `count` inputs asked for in `format`. */
const readBatch = (body: Record<string, unknown>, count: number, format: 'float' | 'base64') =>
  adapter.read(body, { client: {}, input: [], count, format });

describe('TeiEmbeddingsAdapter.read', () => {
  it('orders by index and keeps the format TEI was asked for', () => {
    const result = readBatch(
      answer([
        { object: 'embedding', embedding: [2], index: 1 },
        { object: 'embedding', embedding: [1], index: 0 },
      ]),
      2,
      'float',
    );
    expect(result.data.map((d) => d.embedding)).toEqual([[1], [2]]);
    expect(result).toMatchObject({ promptTokens: 4, totalTokens: 4 });
  });

  it('converts when an older TEI ignored encoding_format (little-endian float32)', () => {
    const asked64 = readBatch(answer([{ embedding: floats, index: 0 }]), 1, 'base64');
    expect(asked64.data[0]?.embedding).toBe(base64(floats));
    const askedFloat = readBatch(answer([{ embedding: base64(floats), index: 0 }]), 1, 'float');
    expect(askedFloat.data[0]?.embedding).toEqual(floats.map((v) => Math.fround(v)));
  });

  it('counts missing usage as zero', () => {
    expect(readBatch(answer([{ embedding: [1], index: 0 }], null), 1, 'float')).toMatchObject({
      promptTokens: 0,
      totalTokens: 0,
    });
  });

  it.each([
    ['too few items', answer([{ embedding: [1], index: 0 }]), 2],
    ['no data', { usage: {} }, 1],
    [
      'duplicate index',
      answer([
        { embedding: [1], index: 0 },
        { embedding: [1], index: 0 },
      ]),
      2,
    ],
    ['index out of range', answer([{ embedding: [1], index: 3 }]), 1],
    ['non-numeric vector', answer([{ embedding: ['x'], index: 0 }]), 1],
    ['truncated base64', answer([{ embedding: 'AAAAAAA=', index: 0 }]), 1],
  ])('treats %s as an upstream error', (_name, body, count) => {
    const error = (() => {
      try {
        readBatch(body, count, 'float');
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('upstream_error');
  });
});
