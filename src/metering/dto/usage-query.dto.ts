import { IsIn, IsOptional, IsString } from 'class-validator';
import { IsInstant } from '../../core/iso-instant';

export const USAGE_GROUPS = ['model', 'key', 'account', 'day'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];
/** Every query parameter GET /admin/v1/usage accepts. */
export const USAGE_PARAMS = ['from', 'to', 'group_by', 'format'];
export const USAGE_FORMATS = ['json', 'csv'] as const;
export type UsageFormat = (typeof USAGE_FORMATS)[number];

/** `GET /admin/v1/usage` query and `hunze usage` options (see resolveUsageQuery for defaults and limits). */
export class UsageQueryDto {
  @IsOptional() @IsString() @IsInstant() from?: string;
  @IsOptional() @IsString() @IsInstant() to?: string;
  @IsOptional() @IsIn(USAGE_GROUPS) group_by?: UsageGroup;
  @IsOptional() @IsIn(USAGE_FORMATS) format?: UsageFormat;
}
