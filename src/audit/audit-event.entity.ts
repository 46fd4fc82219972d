import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One audit_events row. Written only by AuditService.record (append under an advisory lock). */
@Entity({ name: 'audit_events' })
export class AuditEventEntity {
  @PrimaryColumn({
    type: 'bigint',
    transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) },
  })
  seq!: number;
  @Column({ name: 'occurred_at', type: 'timestamptz' }) occurredAt!: Date;
  @Column({ type: 'varchar', length: 64 }) actor!: string;
  @Column({ type: 'varchar', length: 32 }) action!: string;
  @Column({ type: 'varchar', length: 200, nullable: true }) target!: string | null;
  @Column({ type: 'jsonb' }) details!: Record<string, unknown>;
  @Column({ name: 'prev_hash', type: 'char', length: 64 }) prevHash!: string;
  @Column({ type: 'char', length: 64 }) hash!: string;
}
