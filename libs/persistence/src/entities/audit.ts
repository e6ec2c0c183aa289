import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../columns.js';

/** One audited action, chained per tenant: `hash = HMAC-SHA256(key, prevHash + canonical record)` (SHA-256 when `keyId` is null). */
@Entity('audit_events')
export class AuditEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('int') seq!: number;
  @Column('varchar', { length: 36 }) eventId!: string;
  @Column('varchar', { length: 100 }) action!: string;
  @Column('varchar', { length: 200 }) actor!: string;
  @Column('varchar', { length: 300 }) target!: string;
  @Column('int') status!: number;
  @Column('text') detail!: string;
  @Column({ type: 'bigint', transformer: epochMs }) occurredAt!: number;
  @Column('varchar', { length: 64 }) prevHash!: string;
  @Column('varchar', { length: 64 }) hash!: string;
  /** The BATON_AUDIT_KEY key the record was chained under; null before the chain was keyed. */
  @Column('varchar', { length: 32, nullable: true }) keyId!: string | null;
}

/** The end of each tenant's chain; locked while appending so the chain stays linear across replicas. */
@Entity('audit_heads')
export class AuditHeadEntity {
  @PrimaryColumn('varchar', { length: 36 }) tenantId!: string;
  @Column('int') seq!: number;
  @Column('varchar', { length: 64 }) hash!: string;
  /** The last checkpoint: its record and time. */
  @Column('int', { default: 0 }) checkpointSeq!: number;
  @Column({ type: 'bigint', transformer: epochMs, nullable: true }) checkpointAt!: number | null;
}

/** A tenant's chain head (seq, hash) at a moment, signed with an audit key (HMAC-SHA256). */
@Entity('audit_checkpoints')
export class AuditCheckpointEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('int') seq!: number;
  @Column('varchar', { length: 64 }) hash!: string;
  @Column({ type: 'bigint', transformer: epochMs }) at!: number;
  @Column('varchar', { length: 32 }) keyId!: string;
  @Column('varchar', { length: 64 }) signature!: string;
}
