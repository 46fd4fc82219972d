import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AccountsAndKeys1732000000000 implements MigrationInterface {
  name = 'AccountsAndKeys1732000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE accounts (
      id uuid PRIMARY KEY,
      name varchar(200) NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE api_keys (
      id uuid PRIMARY KEY,
      prefix varchar(16) NOT NULL,
      key_hash char(64) NOT NULL UNIQUE,
      name varchar(200) NOT NULL,
      role varchar(16) NOT NULL CHECK (role IN ('user', 'admin', 'dpo')),
      account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE RESTRICT,
      allowed_models text[],
      rpm integer CHECK (rpm > 0),
      tpm integer CHECK (tpm > 0),
      monthly_tokens bigint CHECK (monthly_tokens > 0),
      expires_at timestamptz,
      revoked_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX api_keys_account_idx ON api_keys (account_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_keys`);
    await q.query(`DROP TABLE accounts`);
  }
}
