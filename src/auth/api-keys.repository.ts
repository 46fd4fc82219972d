// The api_keys table's one door: every statement on it is here, as SQL (see docs/architecture.md, "Persistence").
// Rows come back as ApiKeyEntity objects, with their account when the statement joins it.
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Role } from '../core/roles';
import { toAccount, type AccountRow, type Queryable } from './accounts.repository';
import type { ApiKeyEntity } from './entities/api-key.entity';

/** What PostgreSQL's uuid type accepts in its canonical form; anything else is an unknown key, not a 500. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ColumnInfo {
  name: string;
  type: string;
  length: number | null;
}

/** A key's display fields, for listings that name keys by id (the usage report). */
export interface KeyLabel {
  name: string;
  prefix: string;
}

export type NewApiKey = Omit<ApiKeyEntity, 'account' | 'createdAt'>;

interface KeyRow {
  id: string;
  prefix: string;
  key_hash: string;
  name: string;
  role: Role;
  account_id: string;
  allowed_models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  monthly_tokens: string | number | null;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  created_at: Date | string;
}

/** A key row joined with its account's columns, prefixed `account_`. */
type KeyWithAccountRow = KeyRow & {
  [K in Exclude<keyof AccountRow, 'id'> as `account_${K}`]: AccountRow[K];
};

const KEY_COLUMNS =
  'id, prefix, key_hash, name, role, account_id, allowed_models, rpm, tpm, monthly_tokens, expires_at, revoked_at, created_at';
const WITH_ACCOUNT = `SELECT k.*, a.name AS account_name, a.rpm AS account_rpm,
    a.tpm AS account_tpm, a.monthly_tokens AS account_monthly_tokens, a.created_at AS account_created_at
  FROM api_keys k JOIN accounts a ON a.id = k.account_id`;

const date = (value: Date | string | null): Date | null => (value === null ? null : new Date(value));
const int = (value: string | number | null): number | null => (value === null ? null : Number(value));

function toKey(row: KeyRow): ApiKeyEntity {
  return {
    id: row.id,
    prefix: row.prefix,
    keyHash: row.key_hash,
    name: row.name,
    role: row.role,
    accountId: row.account_id,
    allowedModels: row.allowed_models,
    rpm: row.rpm,
    tpm: row.tpm,
    monthlyTokens: int(row.monthly_tokens),
    expiresAt: date(row.expires_at),
    revokedAt: date(row.revoked_at),
    createdAt: new Date(row.created_at),
  };
}

function toKeyWithAccount(row: KeyWithAccountRow): ApiKeyEntity {
  const account = toAccount({
    id: row.account_id,
    name: row.account_name,
    rpm: row.account_rpm,
    tpm: row.account_tpm,
    monthly_tokens: row.account_monthly_tokens,
    created_at: row.account_created_at,
  });
  return { ...toKey(row), account };
}

@Injectable()
export class ApiKeysRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** Inserts a key (in `db`'s transaction when given); returns it without its account. */
  async insert(key: NewApiKey, db: Queryable = this.dataSource): Promise<ApiKeyEntity> {
    const rows = await db.query<KeyRow[]>(
      `INSERT INTO api_keys (id, prefix, key_hash, name, role, account_id, allowed_models, rpm, tpm,
         monthly_tokens, expires_at, revoked_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${KEY_COLUMNS}`,
      [
        key.id,
        key.prefix,
        key.keyHash,
        key.name,
        key.role,
        key.accountId,
        key.allowedModels,
        key.rpm,
        key.tpm,
        key.monthlyTokens,
        key.expiresAt?.toISOString() ?? null,
        key.revokedAt?.toISOString() ?? null,
      ],
    );
    return toKey(rows[0]!);
  }

  /** With its account; null for an unknown id or one that is not a uuid. */
  async findById(id: string): Promise<ApiKeyEntity | null> {
    if (!UUID.test(id)) return null;
    const rows = await this.dataSource.query<KeyWithAccountRow[]>(`${WITH_ACCOUNT} WHERE k.id = $1`, [id]);
    return rows[0] ? toKeyWithAccount(rows[0]) : null;
  }

  async findByHash(keyHash: string): Promise<ApiKeyEntity | null> {
    const rows = await this.dataSource.query<KeyWithAccountRow[]>(`${WITH_ACCOUNT} WHERE k.key_hash = $1`, [
      keyHash,
    ]);
    return rows[0] ? toKeyWithAccount(rows[0]) : null;
  }

  /** Every key with its account, oldest first. */
  async findAll(): Promise<ApiKeyEntity[]> {
    const rows = await this.dataSource.query<KeyWithAccountRow[]>(
      `${WITH_ACCOUNT} ORDER BY k.created_at ASC`,
    );
    return rows.map(toKeyWithAccount);
  }

  async revoke(id: string, revokedAt: Date, db: Queryable = this.dataSource): Promise<void> {
    await db.query('UPDATE api_keys SET revoked_at = $2 WHERE id = $1', [id, revokedAt.toISOString()]);
  }

  /** Ids of the account's keys that are not revoked. */
  async activeIdsOf(accountId: string, db: Queryable = this.dataSource): Promise<string[]> {
    const rows = await db.query<{ id: string }[]>(
      'SELECT id FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL',
      [accountId],
    );
    return rows.map((r) => r.id);
  }

  /** Keys not revoked, per account id. */
  async activeCountsByAccount(): Promise<Map<string, number>> {
    const rows = await this.dataSource.query<{ account_id: string; count: number | string }[]>(
      'SELECT account_id, COUNT(*)::int AS count FROM api_keys WHERE revoked_at IS NULL GROUP BY account_id',
    );
    return new Map(rows.map((r) => [r.account_id, Number(r.count)]));
  }

  /** Name and prefix of the keys among `ids` that exist; ids that are not uuids ('break-glass') are skipped. */
  async labels(ids: readonly string[]): Promise<Map<string, KeyLabel>> {
    const uuids = ids.filter((id) => UUID.test(id));
    if (uuids.length === 0) return new Map();
    const placeholders = uuids.map((_, i) => `$${i + 1}`).join(', ');
    const rows = await this.dataSource.query<{ id: string; name: string; prefix: string }[]>(
      `SELECT id::text AS id, name, prefix FROM api_keys WHERE id IN (${placeholders})`,
      uuids,
    );
    return new Map(rows.map((r) => [r.id, { name: r.name, prefix: r.prefix }]));
  }

  /** The table's columns as the database reports them (not as the code believes), sorted by name. */
  async columns(): Promise<ColumnInfo[]> {
    const rows = await this.dataSource.query<
      { column_name: string; data_type: string; character_maximum_length: number | string | null }[]
    >(
      `SELECT column_name, data_type, character_maximum_length FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = 'api_keys' ORDER BY column_name`,
    );
    return rows.map((r) => ({
      name: r.column_name,
      type: r.data_type,
      length: r.character_maximum_length === null ? null : Number(r.character_maximum_length),
    }));
  }
}
