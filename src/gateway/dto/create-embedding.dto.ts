// POST /v1/embeddings: the scalar fields are checked here by the validation pipe; `input` only for presence,
// because its four shapes and per-item problems are checked by `embeddingInputs` (embedding-input.ts),
// which names the offending item (`input[3]`), something the pipe's per-constraint reasons cannot do.
import { IsDefined, IsIn, IsInt, IsOptional, IsString, Min, MinLength } from 'class-validator';

export const ENCODING_FORMATS = ['float', 'base64'] as const;
export type EncodingFormat = (typeof ENCODING_FORMATS)[number];

export class CreateEmbeddingDto {
  @IsDefined() @IsString() @MinLength(1) model!: string;
  @IsDefined() input!: unknown;
  @IsOptional() @IsIn(ENCODING_FORMATS) encoding_format?: EncodingFormat;
  @IsOptional() @IsInt() @Min(1) dimensions?: number;
  @IsOptional() @IsString() user?: string;
}
