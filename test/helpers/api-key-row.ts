// An api_keys row as the key cache loads it, for unit specs that feed the cache from an in-memory table.
import type { ApiKeyEntity } from '../../src/auth/entities/api-key.entity';
import { hashKey } from '../../src/auth/key-material';

/** A user key of account `acc` whose secret is `hz-<id>`, with no limits, expiry or revocation. */
export function apiKeyRow(id: string, extra: Partial<ApiKeyEntity> = {}): ApiKeyEntity {
  return {
    id,
    keyHash: hashKey(`hz-${id}`),
    role: 'user',
    accountId: 'acc',
    allowedModels: null,
    rpm: null,
    tpm: null,
    monthlyTokens: null,
    expiresAt: null,
    revokedAt: null,
    ...extra,
  } as ApiKeyEntity;
}
