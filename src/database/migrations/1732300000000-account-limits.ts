import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Limits for a whole account (team), enforced alongside each key's own (src/metering/rate-limits). */
export class AccountLimits1732300000000 implements MigrationInterface {
  name = 'AccountLimits1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts
      ADD COLUMN rpm integer CHECK (rpm > 0),
      ADD COLUMN tpm integer CHECK (tpm > 0),
      ADD COLUMN monthly_tokens bigint CHECK (monthly_tokens > 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts DROP COLUMN rpm, DROP COLUMN tpm, DROP COLUMN monthly_tokens`);
  }
}
