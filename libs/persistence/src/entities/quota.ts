import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from '../columns.js';

const limit = { type: 'int' as const, nullable: true };
const nullableMs = { type: 'bigint' as const, transformer: epochMs, nullable: true };

/** A tenant's limits; a missing row or a null field means not limited (see QUOTA_NAMES in libs/domain). */
@Entity('tenant_quotas')
export class TenantQuotaEntity {
  @PrimaryColumn('varchar', { length: 36 }) tenantId!: string;
  /** Tasks assigned or running at once, across the tenant's runs. */
  @Column(limit) maxRunningTasks!: number | null;
  /** Relative share of dispatch when tenants compete (null = 1). */
  @Column('int', { nullable: true }) dispatchWeight!: number | null;
  @Column(limit) maxJobs!: number | null;
  @Column(limit) runsPerMinute!: number | null;
  @Column(limit) maxConcurrentRuns!: number | null;
  @Column(limit) maxCpuMillis!: number | null;
  @Column(limit) maxMemoryMb!: number | null;
  @Column(limit) maxAgents!: number | null;
  @Column(limit) maxBackfillSize!: number | null;
  /** The runs-per-minute token bucket (thousandths of a token) and when it held that; null = full. */
  @Column(nullableMs) runBucketMilliTokens!: number | null;
  @Column(nullableMs) runBucketAt!: number | null;
  @Column({ type: 'bigint', transformer: epochMs }) updatedAt!: number;
}

/** Usage per tenant and UTC day that runs and attempts do not hold: agent time, CPU time (runs and task time are read from their rows). */
@Entity('tenant_usage_daily')
export class TenantUsageDailyEntity {
  @PrimaryColumn('varchar', { length: 36 }) tenantId!: string;
  @PrimaryColumn({ type: 'bigint', transformer: epochMs }) day!: number;
  /** Milliseconds agents of the tenant were connected that day. */
  @Column({ type: 'bigint', transformer: epochMs, default: 0 }) agentMs!: number;
  /** CPU time (user + system) of the tenant's tasks that day, measured on the agents, in milliseconds. */
  @Column({ type: 'bigint', transformer: epochMs, default: 0 }) cpuMs!: number;
}
