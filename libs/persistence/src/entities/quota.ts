import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from '../columns.js';

/** A tenant's limits; a missing row or a null field means not limited. */
@Entity('tenant_quotas')
export class TenantQuotaEntity {
  @PrimaryColumn('varchar', { length: 36 }) tenantId!: string;
  /** Tasks assigned or running at once, across the tenant's runs. */
  @Column('int', { nullable: true }) maxRunningTasks!: number | null;
  /** Relative share of dispatch when tenants compete (null = 1). */
  @Column('int', { nullable: true }) dispatchWeight!: number | null;
  @Column({ type: 'bigint', transformer: epochMs }) updatedAt!: number;
}
