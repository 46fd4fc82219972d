import type { AccountEntity } from '../entities/account.entity';

/** An account as listed: its limits (null = none) and how many keys are active in it. */
export interface AccountResponseDto {
  object: 'account';
  name: string;
  rpm: number | null;
  tpm: number | null;
  monthly_tokens: number | null;
  active_keys: number;
  created_at: string;
}

export function toAccountResponse(entity: AccountEntity, activeKeys: number): AccountResponseDto {
  return {
    object: 'account',
    name: entity.name,
    rpm: entity.rpm,
    tpm: entity.tpm,
    monthly_tokens: entity.monthlyTokens,
    active_keys: activeKeys,
    created_at: entity.createdAt.toISOString(),
  };
}
