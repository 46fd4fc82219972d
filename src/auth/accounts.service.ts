// Accounts (teams) and their limits. A change is audited in the same transaction and announced on the
// KeyChangeBus for each of the account's active keys, so every replica's key cache reloads them with the
// account's new limits within a second.
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, IsNull, type Repository } from 'typeorm';
import { ApiError } from '../core/errors';
import { isStorableText, STORABLE_TEXT_REASON } from '../core/storable-text';
import { AuditService } from '../audit/audit.service';
import { toAccountResponse, type AccountResponseDto } from './dto/account-response.dto';
import type { SetAccountLimitsDto } from './dto/set-account-limits.dto';
import { AccountEntity } from './entities/account.entity';
import { ApiKeyEntity } from './entities/api-key.entity';
import { KeyChangeBus } from './key-changes/key-change-bus';

type LimitField = 'rpm' | 'tpm' | 'monthlyTokens';
const FIELDS: readonly [keyof SetAccountLimitsDto, LimitField][] = [
  ['rpm', 'rpm'],
  ['tpm', 'tpm'],
  ['monthly_tokens', 'monthlyTokens'],
];

@Injectable()
export class AccountsService {
  private readonly accounts: Repository<AccountEntity>;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(KeyChangeBus) private readonly bus: KeyChangeBus,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {
    this.accounts = dataSource.getRepository(AccountEntity);
  }

  async list(): Promise<AccountResponseDto[]> {
    const rows = await this.accounts.find({ order: { name: 'ASC' } });
    const counts = await this.activeKeyCounts();
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
      const repo = tx.getRepository(AccountEntity);
      const before = await repo.findOne({ where: { name } });
      if (!before)
        await repo.createQueryBuilder().insert().values({ id: randomUUID(), name }).orIgnore().execute();
      const changes: Partial<Record<LimitField, number | null>> = {};
      for (const [field, column] of FIELDS) if (dto[field] !== undefined) changes[column] = dto[field];
      if (Object.keys(changes).length > 0) await repo.update({ name }, changes);
      const after = await repo.findOneOrFail({ where: { name } });
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
      const keys = await tx.getRepository(ApiKeyEntity).find({
        select: { id: true },
        where: { accountId: after.id, revokedAt: IsNull() },
      });
      return { account: after, keyIds: keys.map((k) => k.id), changed };
    });
    if (changed) await Promise.all(keyIds.map((id) => this.bus.publish(id)));
    return toAccountResponse(account, keyIds.length);
  }

  private async activeKeyCounts(): Promise<Map<string, number>> {
    const rows = await this.dataSource
      .getRepository(ApiKeyEntity)
      .createQueryBuilder('k')
      .select('k.account_id', 'accountId')
      .addSelect('COUNT(*)::int', 'count')
      .where('k.revoked_at IS NULL')
      .groupBy('k.account_id')
      .getRawMany<{ accountId: string; count: number | string }>();
    return new Map(rows.map((r) => [r.accountId, Number(r.count)]));
  }
}

function limitsOf(account: AccountEntity): {
  rpm: number | null;
  tpm: number | null;
  monthly_tokens: number | null;
} {
  return { rpm: account.rpm, tpm: account.tpm, monthly_tokens: account.monthlyTokens };
}
