import type { ApiKeyEntity } from '../entities/api-key.entity';

/** A key as listed: never the secret, never its hash. */
export interface KeyResponseDto {
  id: string;
  object: 'api_key';
  name: string;
  prefix: string;
  role: string;
  account: string | null;
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  monthly_tokens: number | null;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
}

/** Returned once, at creation: the only time the key itself is shown. */
export interface CreatedKeyResponseDto extends KeyResponseDto {
  key: string;
}

export function toKeyResponse(entity: ApiKeyEntity): KeyResponseDto {
  return {
    id: entity.id,
    object: 'api_key',
    name: entity.name,
    prefix: entity.prefix,
    role: entity.role,
    account: entity.account?.name ?? null,
    models: entity.allowedModels,
    rpm: entity.rpm,
    tpm: entity.tpm,
    monthly_tokens: entity.monthlyTokens,
    expires_at: entity.expiresAt?.toISOString() ?? null,
    revoked_at: entity.revokedAt?.toISOString() ?? null,
    created_at: entity.createdAt.toISOString(),
  };
}
