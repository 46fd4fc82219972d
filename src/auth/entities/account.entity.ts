import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A team or tenant; keys belong to one, and usage and quotas roll up to it. */
@Entity({ name: 'accounts' })
export class AccountEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 200, unique: true }) name!: string;
  @Column({ type: 'integer', nullable: true }) rpm!: number | null;
  @Column({ type: 'integer', nullable: true }) tpm!: number | null;
  @Column({
    name: 'monthly_tokens',
    type: 'bigint',
    nullable: true,
    transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) },
  })
  monthlyTokens!: number | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
