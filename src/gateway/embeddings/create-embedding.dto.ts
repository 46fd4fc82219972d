// POST /v1/embeddings: the scalar fields are checked here by the validation pipe; `input` only for presence,
// because its four shapes and per-item problems are checked by `embeddingInputs` (embedding-input.ts),
// which names the offending item (`input[3]`), something the pipe's per-constraint reasons cannot do.
import type { SchemaObject } from 'ajv';
import { IsDefined, IsIn, IsInt, IsOptional, IsString, Min, MinLength } from 'class-validator';
import { optional } from '../dto/validators';

export const ENCODING_FORMATS = ['float', 'base64'] as const;
export type EncodingFormat = (typeof ENCODING_FORMATS)[number];

export class CreateEmbeddingDto {
  @IsDefined() @IsString() @MinLength(1) model!: string;
  @IsDefined() input!: unknown;
  @IsOptional() @IsIn(ENCODING_FORMATS) encoding_format?: EncodingFormat;
  @IsOptional() @IsInt() @Min(1) dimensions?: number;
  @IsOptional() @IsString() user?: string;
}

// What the decorators above accept, as a JSON schema (never looser: see BodyValidationPipe). A body it
// accepts skips class-validator; any other body is checked, and its error worded, by the decorators.
export const createEmbeddingSchema: SchemaObject = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: { type: 'string', minLength: 1 },
    input: { not: { type: 'null' } },
    encoding_format: optional({ enum: ENCODING_FORMATS }),
    dimensions: optional({ type: 'integer', minimum: 1 }),
    user: optional({ type: 'string' }),
  },
};
