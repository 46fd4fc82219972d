import { ApiError } from '../../core/errors';
import { embeddingInputs } from './embedding-input';

function problem(input: unknown): { param: string | null; message: string } {
  try {
    embeddingInputs(input);
  } catch (err) {
    if (err instanceof ApiError) return { param: err.param, message: err.toBody().error.message };
    throw err;
  }
  throw new Error('accepted');
}

describe('embeddingInputs', () => {
  it("accepts OpenAI's four shapes; one string or one token list stays a single input", () => {
    expect(embeddingInputs('a')).toEqual({ items: ['a'], single: true });
    expect(embeddingInputs(['a', 'b'])).toEqual({ items: ['a', 'b'], single: false });
    expect(embeddingInputs([1, 2, 3])).toEqual({ items: [[1, 2, 3]], single: true });
    expect(embeddingInputs([[1], [2, 0xffffffff]])).toEqual({ items: [[1], [2, 0xffffffff]], single: false });
    expect(embeddingInputs(Array.from({ length: 2048 }, () => 'x')).items).toHaveLength(2048);
  });

  it.each([
    [undefined, 'input', 'must be a string or an array'],
    [42, 'input', 'must be a string or an array'],
    ['', 'input', 'must not be empty'],
    [[], 'input', 'has too few items'],
    [Array.from({ length: 2049 }, () => 'x'), 'input', 'has more than 2048 items'],
    [['secret', null], 'input[1]', 'must be a string'],
    [['secret', ''], 'input[1]', 'must not be empty'],
    [[1, 'secret'], 'input[1]', 'must be a token id'],
    [[1, 2 ** 32], 'input[1]', 'must be a token id'],
    [[[1], 'secret'], 'input[1]', 'must be an array of token ids'],
    [[[1], []], 'input[1]', 'has too few items'],
    [[[1], [0, -1]], 'input[1][1]', 'must be a token id'],
    [['secret', [1]], 'input[1]', 'must be a string'],
  ])('rejects %j at %s without quoting it', (input, param, reason) => {
    const { param: got, message } = problem(input);
    expect(got).toBe(param);
    expect(message).toContain(`Invalid value for ${param}: ${reason}`);
    expect(message).not.toContain('secret');
  });
});
