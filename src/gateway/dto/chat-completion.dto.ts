// The fields of POST /v1/chat/completions the gateway itself relies on or can check cheaply. Every other
// OpenAI parameter (and vLLM's extras) passes through to the upstream untouched.
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
import type { ConstraintContext } from '../../common/validation.pipe';
import { IsMessageContent, IsStringOrObject, IsStringOrStrings } from './validators';

export const MAX_MESSAGES = 1000;
const tooManyMessages: ConstraintContext = { errorCode: 'too_many_messages', params: { max: MAX_MESSAGES } };

export class ChatMessageDto {
  @IsIn(['system', 'developer', 'user', 'assistant', 'tool', 'function']) role!: string;
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
  @IsOptional() @IsObject() logit_bias?: Record<string, number>;
  @IsOptional() @IsBoolean() logprobs?: boolean;
  @IsOptional() @IsInt() @Min(0) @Max(20) top_logprobs?: number;
  @IsOptional() @IsInt() seed?: number;
  @IsOptional() @IsString() user?: string;
  @IsOptional() @IsArray() @IsObject({ each: true }) tools?: unknown[];
  @IsOptional() @IsStringOrObject() tool_choice?: unknown;
  @IsOptional() @IsBoolean() parallel_tool_calls?: boolean;
  @IsOptional() @IsObject() response_format?: Record<string, unknown>;
}
