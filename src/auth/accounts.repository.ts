// The accounts table's one door: every statement on it is here, as SQL (see docs/architecture.md, "Persistence").
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AccountEntity } from './entities/account.entity';

/** The data source, or the entity manager of a transaction in progress. */
export type Queryable = Pick<EntityManager, 'query'>;

export type AccountLimits = Pick<AccountEntity, 'rpm' | 'tpm' | 'monthlyTokens'>;

export interface AccountRow {
  id: string;
  name: string;
  rpm: number | null;
  tpm: number | null;
  monthly_tokens: string | number | null;
  created_at: Date | string;
}

const LIMIT_COLUMNS: Readonly<Record<keyof AccountLimits, string>> = {
  rpm: 'rpm',
  tpm: 'tpm',
  monthlyTokens: 'monthly_tokens',
};

export function toAccount(row: AccountRow): AccountEntity {
  return {
    id: row.id,
    name: row.name,
    rpm: row.rpm,
    tpm: row.tpm,
    monthlyTokens: row.monthly_tokens === null ? null : Number(row.monthly_tokens),
    createdAt: new Date(row.created_at),
  };
}

@Injectable()
export class AccountsRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** Every account, by name. */
  async findAll(): Promise<AccountEntity[]> {
    const rows = await this.dataSource.query<AccountRow[]>('SELECT * FROM accounts ORDER BY name ASC');
    return rows.map(toAccount);
  }

  async findByName(name: string, db: Queryable = this.dataSource): Promise<AccountEntity | null> {
    const rows = await db.query<AccountRow[]>('SELECT * FROM accounts WHERE name = $1', [name]);
    return rows[0] ? toAccount(rows[0]) : null;
  }

  /** The account named `name`, created without limits if it does not exist (safe against a concurrent create). */
  async findOrCreate(name: string, db: Queryable = this.dataSource): Promise<AccountEntity> {
    await db.query('INSERT INTO accounts (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      randomUUID(),
      name,
    ]);
    const account = await this.findByName(name, db);
    if (!account) throw new Error('account not found after its insert');
    return account;
  }

  /**
   * Sets the given limits (null clears one, a field left out keeps its value) of the account named `name`,
   * creating it first when it does not exist; returns the account as it is now.
   */
  async setLimits(
    name: string,
    limits: Partial<AccountLimits>,
    db: Queryable = this.dataSource,
  ): Promise<AccountEntity> {
    const account = await this.findOrCreate(name, db);
    const fields = (Object.keys(limits) as (keyof AccountLimits)[]).filter((f) => limits[f] !== undefined);
    if (fields.length === 0) return account;
    const sets = fields.map((field, i) => `${LIMIT_COLUMNS[field]} = $${i + 2}`).join(', ');
    await db.query(`UPDATE accounts SET ${sets} WHERE name = $1`, [name, ...fields.map((f) => limits[f])]);
    return (await this.findByName(name, db)) ?? account;
  }
}
