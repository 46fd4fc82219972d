import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One request's metadata (migration 1732200000000). Read by the usage API; written in batches by UsageWriter. */
@Entity({ name: 'usage_records' })
export class UsageRecordEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'request_id', type: 'varchar', length: 128 }) requestId!: string;
  @Column({ name: 'occurred_at', type: 'timestamptz' }) occurredAt!: Date;
  @Column({ type: 'varchar', length: 200, nullable: true }) account!: string | null;
  @Column({ name: 'key_id', type: 'varchar', length: 64, nullable: true }) keyId!: string | null;
  @Column({ type: 'varchar', length: 200, nullable: true }) model!: string | null;
  @Column({ type: 'varchar', length: 100, nullable: true }) upstream!: string | null;
  @Column({ type: 'varchar', length: 100 }) endpoint!: string;
  @Column({ type: 'boolean', nullable: true }) stream!: boolean | null;
  @Column({ type: 'smallint' }) status!: number;
  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true }) errorCode!: string | null;
  @Column({ name: 'prompt_tokens', type: 'integer', nullable: true }) promptTokens!: number | null;
  @Column({ name: 'completion_tokens', type: 'integer', nullable: true }) completionTokens!: number | null;
  @Column({ name: 'total_tokens', type: 'integer', nullable: true }) totalTokens!: number | null;
  @Column({ name: 'latency_ms', type: 'real' }) latencyMs!: number;
  @Column({ name: 'ttft_ms', type: 'real', nullable: true }) ttftMs!: number | null;
  @Column({ name: 'audio_seconds', type: 'real', nullable: true }) audioSeconds!: number | null;
  @Column({ type: 'smallint', nullable: true }) failovers!: number | null;
  @Column({ type: 'varchar', length: 8, nullable: true }) cache!: string | null;
}
