// Accounts (teams) and their limits. A change is audited in the same transaction and announced on the
// KeyChangeBus for each of the account's active keys, so every replica's key cache reloads them with the
// account's new limits within a second.
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiError } from '../core/errors';
import { isStorableText, STORABLE_TEXT_REASON } from '../core/storable-text';
import { AuditService } from '../audit/audit.service';
import { toAccountResponse, type AccountResponseDto } from './dto/account-response.dto';
import type { SetAccountLimitsDto } from './dto/set-account-limits.dto';
import { AccountsRepository, type AccountLimits } from './accounts.repository';
import { ApiKeysRepository } from './api-keys.repository';
import type { AccountEntity } from './entities/account.entity';
import { KeyChangeBus } from './key-changes/key-change-bus';

type LimitField = keyof AccountLimits;
const FIELDS: readonly [keyof SetAccountLimitsDto, LimitField][] = [
  ['rpm', 'rpm'],
  ['tpm', 'tpm'],
  ['monthly_tokens', 'monthlyTokens'],
];

@Injectable()
export class AccountsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AccountsRepository) private readonly accounts: AccountsRepository,
    @Inject(ApiKeysRepository) private readonly keys: ApiKeysRepository,
    @Inject(KeyChangeBus) private readonly bus: KeyChangeBus,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(): Promise<AccountResponseDto[]> {
    const rows = await this.accounts.findAll();
    const counts = await this.keys.activeCountsByAccount();
    return rows.map((row) => toAccountResponse(row, counts.get(row.id) ?? 0));
  }

  /**
   * Sets an account's limits (a field left out keeps its value, null clears it), creating the account when it
   * does not exist yet. `actor`: the calling key's id, or 'cli' for the CLI on the database.
   */
  async setLimits(name: string, dto: SetAccountLimitsDto, actor = 'cli'): Promise<AccountResponseDto> {
    if (name.length < 1 || name.length > 200)
      throw new ApiError('invalid_request_error', { param: 'name', reason: 'has an invalid length' }, 'name');
    if (!isStorableText(name))
      throw new ApiError('invalid_request_error', { param: 'name', reason: STORABLE_TEXT_REASON }, 'name');
    const { account, keyIds, changed } = await this.dataSource.transaction(async (tx) => {
      const before = await this.accounts.findByName(name, tx);
      const changes: Partial<AccountLimits> = {};
      for (const [field, column] of FIELDS) if (dto[field] !== undefined) changes[column] = dto[field];
      const after = await this.accounts.setLimits(name, changes, tx);
      const changed = !before || FIELDS.some(([, column]) => before[column] !== after[column]);
      if (changed) {
        await this.audit.record(
          {
            actor,
            action: 'account.limits_set',
            target: name,
            details: {
              ...limitsOf(after),
              created: !before,
              ...(before ? { previous: limitsOf(before) } : {}),
            },
          },
          tx,
        );
      }
      const keyIds = await this.keys.activeIdsOf(after.id, tx);
      return { account: after, keyIds, changed };
    });
    if (changed) await Promise.all(keyIds.map((id) => this.bus.publish(id)));
    return toAccountResponse(account, keyIds.length);
  }
}

function limitsOf(account: AccountEntity): {
  rpm: number | null;
  tpm: number | null;
  monthly_tokens: number | null;
} {
  return { rpm: account.rpm, tpm: account.tpm, monthly_tokens: account.monthlyTokens };
}
