// POST /v1/completions (legacy text completions): the fields the gateway checks; the rest pass through.
import type { SchemaObject } from 'ajv';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsDefined,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import { logitBiasSchema, MAX_LOGIT_BIAS_ENTRIES, MaxEntries } from '../dto/bounded-objects';
import { StreamOptionsDto, streamOptionsSchema } from '../chat/chat-completion.dto';
import { IsStringOrStrings, optional, stringOrStringsSchema } from '../dto/validators';

const MAX_PROMPTS = 2048;

/** A string, an array of strings, an array of token ids, or an array of token-id arrays (OpenAI's four forms). */
function IsPrompt(): PropertyDecorator {
  const isTokens = (v: unknown) =>
    Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t) && t >= 0);
  return ValidateBy({
    name: 'isPrompt',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' ||
        (Array.isArray(value) &&
          value.length > 0 &&
          value.length <= MAX_PROMPTS &&
          (value.every((v) => typeof v === 'string') || isTokens(value) || value.every(isTokens))),
    },
  });
}

export class CompletionDto {
  @IsDefined() @IsString() @MinLength(1) model!: string;
  @IsDefined() @IsPrompt() prompt!: string | string[] | number[] | number[][];
  @IsOptional() @IsBoolean() stream?: boolean;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => StreamOptionsDto) stream_options?: StreamOptionsDto;
  @IsOptional() @IsInt() @Min(1) max_tokens?: number;
  @IsOptional() @IsNumber() @Min(0) @Max(2) temperature?: number;
  @IsOptional() @IsNumber() @Min(0) @Max(1) top_p?: number;
  @IsOptional() @IsInt() @Min(1) @Max(128) n?: number;
  @IsOptional() @IsInt() @Min(1) @Max(128) best_of?: number;
  @IsOptional() @IsStringOrStrings(4) stop?: string | string[];
  @IsOptional() @IsBoolean() echo?: boolean;
  @IsOptional() @IsInt() @Min(0) @Max(5) logprobs?: number;
  @IsOptional() @IsString() suffix?: string;
  @IsOptional() @IsNumber() @Min(-2) @Max(2) presence_penalty?: number;
  @IsOptional() @IsNumber() @Min(-2) @Max(2) frequency_penalty?: number;
  @IsOptional() @IsObject() @MaxEntries(MAX_LOGIT_BIAS_ENTRIES) logit_bias?: Record<string, number>;
  @IsOptional() @IsInt() seed?: number;
  @IsOptional() @IsString() user?: string;
}

// What the decorators above accept, as a JSON schema (never looser: see BodyValidationPipe). A body it
// accepts skips class-validator; any other body is checked, and its error worded, by the decorators.
const tokensSchema: SchemaObject = { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } };
const promptsSchema = (items: SchemaObject): SchemaObject => ({
  type: 'array',
  minItems: 1,
  maxItems: MAX_PROMPTS,
  items,
});

export const completionSchema: SchemaObject = {
  type: 'object',
  required: ['model', 'prompt'],
  properties: {
    model: { type: 'string', minLength: 1 },
    prompt: {
      anyOf: [
        { type: 'string' },
        promptsSchema({ type: 'string' }),
        promptsSchema({ type: 'integer', minimum: 0 }),
        promptsSchema(tokensSchema),
      ],
    },
    stream: optional({ type: 'boolean' }),
    stream_options: streamOptionsSchema,
    max_tokens: optional({ type: 'integer', minimum: 1 }),
    temperature: optional({ type: 'number', minimum: 0, maximum: 2 }),
    top_p: optional({ type: 'number', minimum: 0, maximum: 1 }),
    n: optional({ type: 'integer', minimum: 1, maximum: 128 }),
    best_of: optional({ type: 'integer', minimum: 1, maximum: 128 }),
    stop: optional(stringOrStringsSchema(4)),
    echo: optional({ type: 'boolean' }),
    logprobs: optional({ type: 'integer', minimum: 0, maximum: 5 }),
    suffix: optional({ type: 'string' }),
    presence_penalty: optional({ type: 'number', minimum: -2, maximum: 2 }),
    frequency_penalty: optional({ type: 'number', minimum: -2, maximum: 2 }),
    logit_bias: optional(logitBiasSchema),
    seed: optional({ type: 'integer' }),
    user: optional({ type: 'string' }),
  },
};
