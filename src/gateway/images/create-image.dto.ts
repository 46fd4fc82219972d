// POST /v1/images/generations: what the gateway checks. Only prompt, n, size, quality and seed reach the FLUX
// backend; OpenAI's style, user and background are accepted (SDKs send them) and have no effect there.
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
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';

export const MAX_PROMPT_CHARS = 32_000;
export const MAX_IMAGES = 4;
/**
 * The sizes the image models' documentation names: FLUX's (1024x1024, 1024x768, 768x1024, 1280x720, 720x1280)
 * and OpenAI's (256x256, 512x512, 1792x1024, 1024x1792, 1024x1536, 1536x1024). Every one of them is also a
 * size IsImageSize accepts; the list is what docs/api.md shows.
 */
export const IMAGE_SIZES = [
  '1024x1024',
  '1024x768',
  '768x1024',
  '1280x720',
  '720x1280',
  '256x256',
  '512x512',
  '768x768',
  '1792x1024',
  '1024x1792',
  '1024x1536',
  '1536x1024',
] as const;
/** FLUX renders sides that are multiples of 16 (its latent patches), from 256 to 2048 pixels. */
export const IMAGE_SIDE = { min: 256, max: 2048, step: 16 } as const;
const WXH = /^([1-9]\d{2,3})x([1-9]\d{2,3})$/;

/** `auto` (the backend chooses), or WIDTHxHEIGHT with both sides within IMAGE_SIDE. */
export function isImageSize(value: unknown): boolean {
  if (value === 'auto') return true;
  const match = typeof value === 'string' ? WXH.exec(value) : null;
  return match !== null && isSide(Number(match[1])) && isSide(Number(match[2]));
}

function isSide(pixels: number): boolean {
  return pixels >= IMAGE_SIDE.min && pixels <= IMAGE_SIDE.max && pixels % IMAGE_SIDE.step === 0;
}

function IsImageSize(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({ name: 'isImageSize', validator: { validate: isImageSize } }, options);
}
export const IMAGE_RESPONSE_FORMATS = ['url', 'b64_json'] as const;
export type ImageResponseFormat = (typeof IMAGE_RESPONSE_FORMATS)[number];

export class CreateImageDto {
  @IsDefined() @IsString() @MinLength(1) model!: string;
  @IsDefined() @IsString() @MinLength(1) @MaxLength(MAX_PROMPT_CHARS) prompt!: string;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_IMAGES) n?: number;
  @IsOptional() @IsImageSize() size?: string;
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
