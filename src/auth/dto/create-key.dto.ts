import { ArrayUnique, IsArray, IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { IsInstant } from '../../core/iso-instant';
import { IsStorableText } from '../../core/storable-text';
import { ROLES, type Role } from '../../core/roles';

/** POST /admin/v1/keys and `hunze keys create`. Field names follow OpenAI's snake_case. */
export class CreateKeyDto {
  @IsString() @Length(1, 200) @IsStorableText() name!: string;
  @IsOptional() @IsIn(ROLES) role?: Role;
  @IsOptional() @IsString() @Length(1, 200) @IsStorableText() account?: string;
  @IsOptional() @IsArray() @ArrayUnique() @IsString({ each: true }) models?: string[];
  @IsOptional() @IsInt() @Min(1) @Max(10_000_000) rpm?: number;
  @IsOptional() @IsInt() @Min(1) @Max(2_000_000_000) tpm?: number;
  @IsOptional() @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER) monthly_tokens?: number;
  /** Read in UTC when it carries no offset. */
  @IsOptional() @IsString() @IsInstant() expires_at?: string;
}
