// POST /v1/images/generations: what the gateway checks. Only prompt, n, size and seed reach the FLUX backend;
// OpenAI's quality, style, user and background are accepted (SDKs send them) and have no effect there.
import {
  IsDefined,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';

export const MAX_PROMPT_CHARS = 32_000;
export const MAX_IMAGES = 4;
/** OpenAI's sizes (DALL·E 2/3, gpt-image) plus 768x768; `auto` lets the backend choose. */
export const IMAGE_SIZES = [
  'auto',
  '256x256',
  '512x512',
  '768x768',
  '1024x1024',
  '1024x1536',
  '1536x1024',
  '1792x1024',
  '1024x1792',
] as const;
export const IMAGE_RESPONSE_FORMATS = ['url', 'b64_json'] as const;
export type ImageResponseFormat = (typeof IMAGE_RESPONSE_FORMATS)[number];

export class CreateImageDto {
  @IsDefined() @IsString() @MinLength(1) model!: string;
  @IsDefined() @IsString() @MinLength(1) @MaxLength(MAX_PROMPT_CHARS) prompt!: string;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_IMAGES) n?: number;
  @IsOptional() @IsIn(IMAGE_SIZES) size?: (typeof IMAGE_SIZES)[number];
  @IsOptional() @IsIn(IMAGE_RESPONSE_FORMATS) response_format?: ImageResponseFormat;
  @IsOptional() @IsInt() seed?: number;
  /** FLUX answers PNG; other formats would need a conversion the gateway does not do. */
  @IsOptional() @IsIn(['png']) output_format?: 'png';
  /** Streaming partial images is not supported by the backend. */
  @IsOptional() @IsIn([false]) stream?: false;
  // Accepted for SDK compatibility; OpenAI keeps adding values, so only the type is checked.
  @IsOptional() @IsString() quality?: string;
  @IsOptional() @IsString() style?: string;
  @IsOptional() @IsString() background?: string;
  @IsOptional() @IsString() user?: string;
}
