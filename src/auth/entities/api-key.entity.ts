import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Role } from '../../core/roles';
import { AccountEntity } from './account.entity';

/** An API key. Only the SHA-256 of the key is stored; `prefix` identifies it in listings. */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 16 }) prefix!: string;
  @Column({ name: 'key_hash', type: 'char', length: 64, unique: true }) keyHash!: string;
  @Column({ type: 'varchar', length: 200 }) name!: string;
  @Column({ type: 'varchar', length: 16 }) role!: Role;
  @Column({ name: 'account_id', type: 'uuid' }) accountId!: string;
  @ManyToOne(() => AccountEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'account_id' })
  account?: AccountEntity;
  /** Model ids or aliases this key may use; null means every model. */
  @Column({ name: 'allowed_models', type: 'text', array: true, nullable: true }) allowedModels!:
    string[] | null;
  @Column({ type: 'integer', nullable: true }) rpm!: number | null;
  @Column({ type: 'integer', nullable: true }) tpm!: number | null;
  @Column({
    name: 'monthly_tokens',
    type: 'bigint',
    nullable: true,
    transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) },
  })
  monthlyTokens!: number | null;
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true }) expiresAt!: Date | null;
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true }) revokedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
