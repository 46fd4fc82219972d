import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The tamper-evident audit log (src/audit/audit-chain.ts): each row holds the SHA-256 of the previous. */
export class AuditEvents1732100000000 implements MigrationInterface {
  name = 'AuditEvents1732100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE audit_events (
      seq bigint PRIMARY KEY CHECK (seq > 0),
      occurred_at timestamptz NOT NULL,
      actor varchar(64) NOT NULL,
      action varchar(32) NOT NULL,
      target varchar(200),
      details jsonb NOT NULL DEFAULT '{}'::jsonb,
      prev_hash char(64) NOT NULL,
      hash char(64) NOT NULL
    )`);
    await q.query(`CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at)`);
    await q.query(`CREATE INDEX audit_events_action_idx ON audit_events (action, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
  }
}
