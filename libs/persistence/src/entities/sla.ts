import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../columns.js';

const ms = (nullable = false) => ({ type: 'bigint' as const, transformer: epochMs, nullable });

/**
 * A run's SLA: its deadlines, its state (`pending`, `at_risk`, `met`,
 * `missed`) with the time of each change, the latest prediction of its finish
 * and when it is to be looked at next. Written only by the insight service,
 * by compare-and-set on the state, so each change happens once whatever the
 * number of replicas.
 */
@Entity('run_slas')
@Index('ix_run_slas_due', ['nextCheckAt'])
@Index('ix_run_slas_tenant_job', ['tenantId', 'jobName', 'logicalDate'])
@Index('ix_run_slas_tenant_state', ['tenantId', 'state', 'logicalDate', 'jobName'])
export class RunSlaEntity {
  @PrimaryColumn('varchar', { length: 36 }) runId!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 100 }) jobName!: string;
  @Column(ms()) logicalDate!: number;
  @Column('varchar', { length: 16 }) state!: string;
  @Column(ms(true)) startBy!: number | null;
  @Column(ms(true)) finishBy!: number | null;
  @Column(ms(true)) warnAt!: number | null;
  @Column(ms(true)) predictedP50!: number | null;
  @Column(ms(true)) predictedP90!: number | null;
  @Column('varchar', { length: 100, nullable: true }) keyTask!: string | null;
  /** JSON list of task keys. */
  @Column('text', { nullable: true }) criticalPath!: string | null;
  @Column('varchar', { length: 300, nullable: true }) reason!: string | null;
  /** JSON: the tasks that ran past their own `maxDuration`, each once ({key, at, maxDurationMs}). */
  @Column('text', { nullable: true }) taskBreaches!: string | null;
  /** JSON: the tasks predicted without history ({key, ms, from}: maxDuration, timeout or default). */
  @Column('text', { nullable: true }) assumedTasks!: string | null;
  @Column(ms(true)) atRiskAt!: number | null;
  @Column(ms(true)) decidedAt!: number | null;
  /** When the evaluator looks at it again (null once decided). */
  @Column(ms(true)) nextCheckAt!: number | null;
  @Column(ms()) createdAt!: number;
  @Column(ms()) updatedAt!: number;
}
