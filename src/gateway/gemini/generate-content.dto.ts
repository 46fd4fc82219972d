// The body of Gemini's generateContent / streamGenerateContent (REST GenerateContentRequest): the fields this
// gateway translates to a chat request, checked for type and range. Part contents (text, inline data) are
// checked by the translator, which names the field at fault.
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
  ValidateNested,
} from 'class-validator';
import type { ConstraintContext } from '../../core/validation.pipe';
import { MAX_MESSAGES } from '../chat/chat-completion.dto';

const tooManyContents: ConstraintContext = { errorCode: 'too_many_messages', params: { max: MAX_MESSAGES } };

export class InlineDataDto {
  @IsDefined() @IsString() mimeType!: string;
  @IsDefined() @IsString() data!: string;
}

export class PartDto {
  @IsOptional() @IsString() text?: string;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => InlineDataDto) inlineData?: InlineDataDto;
  @IsOptional() @IsBoolean() thought?: boolean;
}

export class ContentDto {
  @IsOptional() @IsIn(['user', 'model']) role?: 'user' | 'model';
  @IsDefined()
  @IsArray()
  @ArrayMinSize(1)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => PartDto)
  parts!: PartDto[];
}

/** Gemini sends a systemInstruction as a Content; its role, if any, is not meaningful. */
export class SystemInstructionDto {
  @IsOptional() @IsString() role?: string;
  @IsDefined()
  @IsArray()
  @ArrayMinSize(1)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => PartDto)
  parts!: PartDto[];
}

export class GenerationConfigDto {
  @IsOptional() @IsNumber() @Min(0) @Max(2) temperature?: number;
  @IsOptional() @IsNumber() @Min(0) @Max(1) topP?: number;
  @IsOptional() @IsInt() @Min(0) topK?: number;
  @IsOptional() @IsInt() @Min(1) @Max(8) candidateCount?: number;
  @IsOptional() @IsInt() @Min(1) maxOutputTokens?: number;
  @IsOptional() @IsArray() @ArrayMaxSize(5) @IsString({ each: true }) stopSequences?: string[];
  @IsOptional() @IsNumber() @Min(-2) @Max(2) presencePenalty?: number;
  @IsOptional() @IsNumber() @Min(-2) @Max(2) frequencyPenalty?: number;
  @IsOptional() @IsInt() seed?: number;
  @IsOptional() @IsIn(['text/plain', 'application/json']) responseMimeType?: string;
  @IsOptional() @IsObject() responseSchema?: Record<string, unknown>;
  @IsOptional() @IsObject() responseJsonSchema?: Record<string, unknown>;
}

export class GenerateContentDto {
  @IsDefined()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_MESSAGES, { context: tooManyContents })
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => ContentDto)
  contents!: ContentDto[];

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => SystemInstructionDto)
  systemInstruction?: SystemInstructionDto;
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => GenerationConfigDto)
  generationConfig?: GenerationConfigDto;
  /** Accepted and ignored: the backends have no safety filter to configure. */
  @IsOptional() @IsArray() safetySettings?: unknown[];
  /** Not translated (yet): refused by the translator when non-empty, so nothing is silently dropped. */
  @IsOptional() @IsArray() tools?: unknown[];
  @IsOptional() @IsObject() toolConfig?: Record<string, unknown>;
  @IsOptional() @IsString() cachedContent?: string;
}
