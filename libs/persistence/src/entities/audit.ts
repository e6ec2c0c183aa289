import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../columns.js';

/** One audited action, chained per tenant: `hash = sha256(prevHash + canonical record)`. */
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
}

/** The end of each tenant's chain; locked while appending so the chain stays linear across replicas. */
@Entity('audit_heads')
export class AuditHeadEntity {
  @PrimaryColumn('varchar', { length: 36 }) tenantId!: string;
  @Column('int') seq!: number;
  @Column('varchar', { length: 64 }) hash!: string;
}
