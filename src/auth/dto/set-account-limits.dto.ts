import { IsInt, IsOptional, Max, Min } from 'class-validator';

/**
 * PUT /admin/v1/accounts/{name} and `hunze accounts set`. A field left out keeps its value; null clears the
 * limit. Same ranges as a key's own limits (CreateKeyDto).
 */
export class SetAccountLimitsDto {
  @IsOptional() @IsInt() @Min(1) @Max(10_000_000) rpm?: number | null;
  @IsOptional() @IsInt() @Min(1) @Max(2_000_000_000) tpm?: number | null;
  @IsOptional() @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER) monthly_tokens?: number | null;
}
