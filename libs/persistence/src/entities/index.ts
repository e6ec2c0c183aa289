import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { AttemptState, JobDefinition, RunState, TaskState } from '@baton/domain';
import { epochMs, json } from '../columns.js';

const ms = (nullable = false) => ({ type: 'bigint' as const, transformer: epochMs, nullable });

@Entity('tenants')
export class TenantEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 100 }) name!: string;
  @Column(ms()) createdAt!: number;
  /** `active`, `suspended` (calls refused with the reason, triggers do not fire, agents refused) or `deleted`. */
  @Column('varchar', { length: 16, default: 'active' }) state!: TenantState;
  @Column('varchar', { length: 300, nullable: true }) stateReason!: string | null;
  @Column(ms(true)) stateChangedAt!: number | null;
}

export const TENANT_STATES = ['active', 'suspended', 'deleted'] as const;
export type TenantState = (typeof TENANT_STATES)[number];

@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 100 }) name!: string;
  @Column('varchar', { length: 40 }) role!: string;
  @Column('varchar', { length: 24 }) prefix!: string;
  @Column('varchar', { length: 64 }) hash!: string;
  @Column(ms()) createdAt!: number;
  @Column(ms(true)) revokedAt!: number | null;
  /** After this the key is refused (null: it does not expire). */
  @Column(ms(true)) expiresAt!: number | null;
  /** Written at most once a minute. */
  @Column(ms(true)) lastUsedAt!: number | null;
}

@Entity('agent_tokens')
export class AgentTokenEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 100 }) name!: string;
  @Column('varchar', { length: 24 }) prefix!: string;
  @Column('varchar', { length: 64 }) hash!: string;
  @Column(ms()) createdAt!: number;
  @Column(ms(true)) revokedAt!: number | null;
}

@Entity('agents')
export class AgentEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 100 }) name!: string;
  @Column('text', { transformer: json }) labels!: Record<string, string>;
  @Column('int') slots!: number;
  @Column('int') cpuMillis!: number;
  @Column('int') memoryMb!: number;
  @Column('varchar', { length: 40 }) version!: string;
  @Column('varchar', { length: 20 }) status!: 'connected' | 'disconnected';
  @Column('varchar', { length: 36, nullable: true }) sessionId!: string | null;
  @Column('varchar', { length: 36, nullable: true }) tokenId!: string | null;
  @Column(ms(true)) connectedAt!: number | null;
  @Column(ms(true)) lastSeenAt!: number | null;
  @Column(ms()) createdAt!: number;
}

@Entity('jobs')
export class JobEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 100 }) name!: string;
  @Column('int') currentVersion!: number;
  @Column(ms()) createdAt!: number;
  @Column(ms()) updatedAt!: number;
}

@Entity('job_versions')
export class JobVersionEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 36 }) jobId!: string;
  @Column('int') version!: number;
  @Column('text', { transformer: json }) definition!: JobDefinition;
  @Column(ms()) createdAt!: number;
}

@Entity('triggers')
export class TriggerEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 36 }) jobId!: string;
  @Column('varchar', { length: 100 }) jobName!: string;
  @Column('int') position!: number;
  @Column('varchar', { length: 20 }) type!: string;
  @Column('text', { transformer: json }) spec!: Record<string, unknown>;
  @Column('boolean') enabled!: boolean;
  @Column(ms(true)) nextFireAt!: number | null;
  @Column(ms(true)) lastFireAt!: number | null;
  @Column(ms()) createdAt!: number;
  @Column(ms(true)) anchorAt!: number | null;
}

@Entity('runs')
export class RunEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 36 }) jobId!: string;
  @Column('varchar', { length: 100 }) jobName!: string;
  @Column('int') jobVersion!: number;
  @Column('varchar', { length: 36 }) jobVersionId!: string;
  @Column('varchar', { length: 20 }) state!: RunState;
  @Column(ms()) logicalDate!: number;
  @Column('text', { transformer: json }) params!: Record<string, unknown>;
  @Column('varchar', { length: 200 }) dedupeKey!: string;
  @Column('varchar', { length: 20 }) triggerType!: string;
  @Column('varchar', { length: 36, nullable: true }) triggerId!: string | null;
  @Column(ms()) createdAt!: number;
  @Column(ms(true)) startedAt!: number | null;
  @Column(ms(true)) finishedAt!: number | null;
  @Column('varchar', { length: 36, nullable: true }) backfillId!: string | null;
  @Column('varchar', { length: 36, nullable: true }) parentRunId!: string | null;
  /** W3C traceparent of the run (the root span of its trace). */
  @Column('varchar', { length: 55, nullable: true }) traceparent!: string | null;
  /** Moves with every readiness change of a large run's tasks (see Completion's task-state memory). */
  @Column('int', { default: 0 }) taskEpoch!: number;
  /** `tenant_quota` while the run waits for its tenant's maxConcurrentRuns (else its job's queue, or null). */
  @Column('varchar', { length: 20, nullable: true }) queuedBy?: 'tenant_quota' | null;
}

@Entity('task_runs')
export class TaskRunEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 36 }) runId!: string;
  @Column('varchar', { length: 100 }) taskKey!: string;
  @Column('varchar', { length: 20 }) state!: TaskState;
  @Column('int') priority!: number;
  /** When the task became (or becomes, for a retry) eligible for dispatch. */
  @Column(ms(true)) readyAt!: number | null;
  @Column('int') attemptsUsed!: number;
  @Column('varchar', { length: 36, nullable: true }) currentAttemptId!: string | null;
  @Column('int', { nullable: true }) exitCode!: number | null;
  @Column('text', { nullable: true }) output!: string | null;
  @Column('text', { nullable: true }) error!: string | null;
  @Column(ms(true)) startedAt!: number | null;
  @Column(ms(true)) finishedAt!: number | null;
  @Column(ms()) updatedAt!: number;
  /** The pool the task draws on while assigned or running, and how many of its slots. */
  @Column('varchar', { length: 100, nullable: true }) pool!: string | null;
  @Column('int', { default: 1 }) poolSlots!: number;
}

/** A named set of slots in a tenant that tasks of any job draw on (Airflow's pools). */
@Entity('pools')
export class PoolEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 100 }) name!: string;
  @Column('int') slots!: number;
  @Column('varchar', { length: 500, nullable: true }) description!: string | null;
  @Column(ms()) createdAt!: number;
  @Column(ms()) updatedAt!: number;
}

@Entity('attempts')
export class AttemptEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 36 }) runId!: string;
  @Column('varchar', { length: 36 }) taskRunId!: string;
  @Column('varchar', { length: 100 }) taskKey!: string;
  @Column('int') number!: number;
  @Column('varchar', { length: 20 }) state!: AttemptState;
  @Column('varchar', { length: 36 }) agentId!: string;
  @Column('varchar', { length: 36 }) sessionId!: string;
  /** Ack deadline while assigned; lease expiry while running. */
  @Column(ms(true)) expiresAt!: number | null;
  @Column(ms()) assignedAt!: number;
  @Column(ms(true)) startedAt!: number | null;
  @Column(ms(true)) finishedAt!: number | null;
  @Column('int', { nullable: true }) exitCode!: number | null;
  @Column('text', { nullable: true }) error!: string | null;
  @Column('int') logBytes!: number;
  @Column('int') logSeq!: number;
  @Column(ms(true)) deadlineAt!: number | null;
  @Column('varchar', { length: 20 }) kind!: 'main' | 'compensation';
  @Column('text', { nullable: true }) lateResult!: string | null;
  /** What the attempt counts against the tenant's CPU and memory quotas while assigned or running. */
  @Column('int', { default: 0 }) quotaCpuMillis!: number;
  @Column('int', { default: 0 }) quotaMemoryMb!: number;
}

@Entity('task_logs')
export class TaskLogEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 36 }) attemptId!: string;
  @Column('int') seq!: number;
  @Column('varchar', { length: 6 }) stream!: string;
  @Column('text') data!: string;
  @Column(ms()) createdAt!: number;
}

@Entity('outbox')
export class OutboxEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) seq!: string;
  @Column('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 100 }) topic!: string;
  @Column('varchar', { length: 100 }) key!: string;
  @Column('varchar', { length: 100 }) type!: string;
  @Column('varchar', { length: 36, nullable: true }) tenantId!: string | null;
  @Column('text') payload!: string;
  @Column('text', { nullable: true }) headers!: string | null;
  @Column(ms()) createdAt!: number;
  @Column(ms(true)) publishedAt!: number | null;
}

/** A run asked for by a trigger, waiting for a scheduler replica to claim it (see the run-requests migration). */
@Entity('run_requests')
export class RunRequestEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) seq!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('text') payload!: string;
  @Column(ms()) createdAt!: number;
  @Column('int') failures!: number;
  @Column('varchar', { length: 1000, nullable: true }) lastError!: string | null;
  /** Held back until then (the tenant's runs-per-minute quota); null = take now. */
  @Column(ms(true)) notBefore!: number | null;
}

@Entity('processed_events')
@Index(['consumer', 'eventId'], { unique: true })
export class ProcessedEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) seq!: string;
  @Column('varchar', { length: 100 }) consumer!: string;
  @Column('varchar', { length: 36 }) eventId!: string;
  @Column(ms()) processedAt!: number;
}

@Entity('backfills')
export class BackfillEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 36 }) jobId!: string;
  @Column('varchar', { length: 100 }) jobName!: string;
  @Column('varchar', { length: 36 }) triggerId!: string;
  @Column('text', { transformer: json }) slots!: number[];
  @Column('int') nextIndex!: number;
  @Column('int') maxActiveRuns!: number;
  @Column('varchar', { length: 20 }) state!: 'running' | 'succeeded' | 'failed' | 'cancelled';
  @Column(ms()) createdAt!: number;
  @Column(ms(true)) finishedAt!: number | null;
  /** Run slots whose logical date already has a run of the job again (else they are skipped). */
  @Column('boolean', { default: false }) rerunExisting!: boolean;
  /** Slots skipped because their logical date already had a run; null before any. */
  @Column('text', { transformer: json, nullable: true }) skippedSlots!: number[] | null;
}

@Entity('trigger_slots')
export class TriggerSlotEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 36 }) triggerId!: string;
  @Column('varchar', { length: 100 }) jobName!: string;
  @Column(ms()) slotAt!: number;
  @Column('varchar', { length: 30 }) outcome!: string;
  @Column('varchar', { length: 36, nullable: true }) runId!: string | null;
  @Column(ms()) recordedAt!: number;
}

/** A webhook trigger's signing secret, sealed with the trigger service's key. */
@Entity('trigger_secrets')
export class TriggerSecretEntity {
  @PrimaryColumn('varchar', { length: 36 }) triggerId!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 200 }) secret!: string;
  @Column(ms()) createdAt!: number;
  @Column(ms(true)) rotatedAt!: number | null;
}

/** A webhook, dependency or event delivery that requested a run; unique per (tenant, dedupe key). */
@Entity('trigger_deliveries')
export class TriggerDeliveryEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 36 }) triggerId!: string;
  @Column('varchar', { length: 200 }) dedupeKey!: string;
  @Column(ms()) logicalDate!: number;
  @Column(ms()) receivedAt!: number;
}

export const ENTITIES = [
  BackfillEntity,
  TriggerSlotEntity,
  TenantEntity,
  ApiKeyEntity,
  AgentTokenEntity,
  AgentEntity,
  JobEntity,
  JobVersionEntity,
  TriggerEntity,
  RunEntity,
  TaskRunEntity,
  PoolEntity,
  AttemptEntity,
  TaskLogEntity,
  OutboxEntity,
  RunRequestEntity,
  ProcessedEventEntity,
  TriggerSecretEntity,
  TriggerDeliveryEntity,
];
