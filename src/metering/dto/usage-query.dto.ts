import { IsIn, IsISO8601, IsOptional } from 'class-validator';

export const USAGE_GROUPS = ['model', 'key', 'account', 'day'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];
export const USAGE_FORMATS = ['json', 'csv'] as const;
export type UsageFormat = (typeof USAGE_FORMATS)[number];

/** `GET /admin/v1/usage` query and `hunze usage` options (see resolveUsageQuery for defaults and limits). */
export class UsageQueryDto {
  @IsOptional() @IsISO8601({ strict: true }) from?: string;
  @IsOptional() @IsISO8601({ strict: true }) to?: string;
  @IsOptional() @IsIn(USAGE_GROUPS) group_by?: UsageGroup;
  @IsOptional() @IsIn(USAGE_FORMATS) format?: UsageFormat;
}
