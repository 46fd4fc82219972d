// The embeddings `input` in OpenAI's four shapes (a string, strings, token ids, lists of token ids), which
// TEI 1.9 also accepts (its `InputType` is text or u32 ids). Turned into the list of separate inputs the
// gateway splits into batches; a problem is a 400 naming the item's path, never its content.
import { ApiError } from '../../core/errors';

export const MAX_EMBEDDING_INPUTS = 2048;
const MAX_TOKEN_ID = 0xffffffff; // TEI parses ids as u32

/** One input: a text or its token ids. */
export type EmbeddingInput = string | number[];

export interface EmbeddingInputs {
  items: EmbeddingInput[];
  /** The client sent one input (a string or one token list), not a list: it is relayed as such. */
  single: boolean;
}

const isTokenId = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_TOKEN_ID;

export function embeddingInputs(input: unknown): EmbeddingInputs {
  if (typeof input === 'string') {
    if (input.length === 0) throw invalid('input', 'must not be empty');
    return { items: [input], single: true };
  }
  if (!Array.isArray(input)) throw invalid('input', 'must be a string or an array');
  if (input.length === 0) throw invalid('input', 'has too few items');
  if (input.length > MAX_EMBEDDING_INPUTS)
    throw invalid('input', `has more than ${MAX_EMBEDDING_INPUTS} items`);
  const first: unknown = input[0];
  if (typeof first === 'number') {
    input.forEach((id, i) => {
      if (!isTokenId(id))
        throw invalid(`input[${i}]`, 'must be a token id (an integer from 0 to 4294967295)');
    });
    return { items: [input as number[]], single: true };
  }
  if (Array.isArray(first)) {
    input.forEach((ids: unknown, i) => {
      if (!Array.isArray(ids))
        throw invalid(`input[${i}]`, 'must be an array of token ids like the first item');
      if (ids.length === 0) throw invalid(`input[${i}]`, 'has too few items');
      ids.forEach((id, j) => {
        if (!isTokenId(id))
          throw invalid(`input[${i}][${j}]`, 'must be a token id (an integer from 0 to 4294967295)');
      });
    });
    return { items: input as number[][], single: false };
  }
  input.forEach((text: unknown, i) => {
    if (typeof text !== 'string') throw invalid(`input[${i}]`, 'must be a string');
    if (text.length === 0) throw invalid(`input[${i}]`, 'must not be empty');
  });
  return { items: input as string[], single: false };
}

function invalid(param: string, reason: string): ApiError {
  return new ApiError('invalid_request_error', { param, reason }, param);
}
