import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from '../columns.js';

const ms = (nullable = false) => ({ type: 'bigint' as const, transformer: epochMs, nullable });

/** A tenant's secret for its tasks: sealed with `BATON_SECRETS_KEY`, the id of the sealing key beside it. */
@Entity('secrets')
export class SecretEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 64 }) name!: string;
  /** `v2.<key id>.<iv>.<tag>.<ciphertext>`; never the value. */
  @Column('text') sealed!: string;
  @Column('varchar', { length: 32 }) keyId!: string;
  @Column(ms()) createdAt!: number;
  @Column(ms()) updatedAt!: number;
  /** Who wrote the current value (an actor as in the audit log). */
  @Column('varchar', { length: 300 }) updatedBy!: string;
}
