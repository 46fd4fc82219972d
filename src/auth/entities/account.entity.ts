import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A team or tenant; keys belong to one, and usage and quotas roll up to it. */
@Entity({ name: 'accounts' })
export class AccountEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 200, unique: true }) name!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
