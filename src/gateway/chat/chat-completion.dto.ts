// The fields of POST /v1/chat/completions the gateway itself relies on or can check cheaply. Every other
// OpenAI parameter (and vLLM's extras) passes through to the upstream untouched.
import type { SchemaObject } from 'ajv';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import type { ConstraintContext } from '../../core/validation.pipe';
import {
  IsMetadata,
  logitBiasSchema,
  MAX_LOGIT_BIAS_ENTRIES,
  MaxEntries,
  METADATA_LIMITS,
  metadataSchema,
} from '../dto/bounded-objects';
import {
  IsMessageContent,
  IsStringOrObject,
  IsStringOrStrings,
  messageContentSchema,
  optional,
  stringOrObjectSchema,
  stringOrStringsSchema,
} from '../dto/validators';

export const MAX_MESSAGES = 1000;
const tooManyMessages: ConstraintContext = { errorCode: 'too_many_messages', params: { max: MAX_MESSAGES } };
const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'];

export class ChatMessageDto {
  @IsIn(ROLES) role!: string;
  @IsMessageContent() content?: unknown;
  @IsOptional() @IsString() name?: string;
  @IsOptional() @IsArray() tool_calls?: unknown[];
  @IsOptional() @IsString() tool_call_id?: string;
}

export class StreamOptionsDto {
  @IsOptional() @IsBoolean() include_usage?: boolean;
  @IsOptional() @IsBoolean() continuous_usage_stats?: boolean;
}

export class ChatCompletionDto {
  @IsDefined() @IsString() @MinLength(1) model!: string;

  @IsDefined()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_MESSAGES, { context: tooManyMessages })
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages!: ChatMessageDto[];

  @IsOptional() @IsBoolean() stream?: boolean;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => StreamOptionsDto) stream_options?: StreamOptionsDto;
  @IsOptional() @IsNumber() @Min(0) @Max(2) temperature?: number;
  @IsOptional() @IsNumber() @Min(0) @Max(1) top_p?: number;
  @IsOptional() @IsInt() @Min(1) @Max(128) n?: number;
  @IsOptional() @IsInt() @Min(1) max_tokens?: number;
  @IsOptional() @IsInt() @Min(1) max_completion_tokens?: number;
  @IsOptional() @IsStringOrStrings(4) stop?: string | string[];
  @IsOptional() @IsNumber() @Min(-2) @Max(2) presence_penalty?: number;
  @IsOptional() @IsNumber() @Min(-2) @Max(2) frequency_penalty?: number;
  @IsOptional() @IsObject() @MaxEntries(MAX_LOGIT_BIAS_ENTRIES) logit_bias?: Record<string, number>;
  @IsOptional()
  @IsObject()
  @MaxEntries(METADATA_LIMITS.entries)
  @IsMetadata()
  metadata?: Record<string, string>;
  @IsOptional() @IsBoolean() logprobs?: boolean;
  @IsOptional() @IsInt() @Min(0) @Max(20) top_logprobs?: number;
  @IsOptional() @IsInt() seed?: number;
  @IsOptional() @IsString() user?: string;
  @IsOptional() @IsArray() @IsObject({ each: true }) tools?: unknown[];
  @IsOptional() @IsStringOrObject() tool_choice?: unknown;
  @IsOptional() @IsBoolean() parallel_tool_calls?: boolean;
  @IsOptional() @IsObject() response_format?: Record<string, unknown>;
}

// What the decorators above accept, as a JSON schema (never looser: see BodyValidationPipe). A body it
// accepts skips class-validator; any other body is checked, and its error worded, by the decorators.
const chatMessageSchema: SchemaObject = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { enum: ROLES },
    content: messageContentSchema,
    name: optional({ type: 'string' }),
    tool_calls: optional({ type: 'array' }),
    tool_call_id: optional({ type: 'string' }),
  },
};

export const streamOptionsSchema: SchemaObject = optional({
  type: 'object',
  properties: {
    include_usage: optional({ type: 'boolean' }),
    continuous_usage_stats: optional({ type: 'boolean' }),
  },
});

export const chatCompletionSchema: SchemaObject = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: { type: 'string', minLength: 1 },
    messages: { type: 'array', minItems: 1, maxItems: MAX_MESSAGES, items: chatMessageSchema },
    stream: optional({ type: 'boolean' }),
    stream_options: streamOptionsSchema,
    temperature: optional({ type: 'number', minimum: 0, maximum: 2 }),
    top_p: optional({ type: 'number', minimum: 0, maximum: 1 }),
    n: optional({ type: 'integer', minimum: 1, maximum: 128 }),
    max_tokens: optional({ type: 'integer', minimum: 1 }),
    max_completion_tokens: optional({ type: 'integer', minimum: 1 }),
    stop: optional(stringOrStringsSchema(4)),
    presence_penalty: optional({ type: 'number', minimum: -2, maximum: 2 }),
    frequency_penalty: optional({ type: 'number', minimum: -2, maximum: 2 }),
    logit_bias: optional(logitBiasSchema),
    metadata: optional(metadataSchema),
    logprobs: optional({ type: 'boolean' }),
    top_logprobs: optional({ type: 'integer', minimum: 0, maximum: 20 }),
    seed: optional({ type: 'integer' }),
    user: optional({ type: 'string' }),
    tools: optional({ type: 'array', items: { type: 'object' } }),
    tool_choice: optional(stringOrObjectSchema),
    parallel_tool_calls: optional({ type: 'boolean' }),
    response_format: optional({ type: 'object' }),
  },
};
