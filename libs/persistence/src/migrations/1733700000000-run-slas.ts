import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Runs' SLA states (services/insight): one row per run of a job that
 * declares an `sla`, with its deadlines, state and the times of its changes,
 * and the latest prediction. The evaluator claims rows whose `next_check_at`
 * has come (index), so every replica shares the work and a row is decided
 * once.
 */
export class RunSlas1733700000000 implements MigrationInterface {
  name = 'RunSlas1733700000000';

  async up(q: QueryRunner): Promise<void> {
    const ms = (name: string, nullable = true) => ({ name, type: 'bigint', isNullable: nullable });
    await q.createTable(
      new Table({
        name: 'run_slas',
        columns: [
          { name: 'run_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'job_name', type: 'varchar', length: '100' },
          ms('logical_date', false),
          { name: 'state', type: 'varchar', length: '16' },
          ms('start_by'),
          ms('finish_by'),
          ms('warn_at'),
          ms('predicted_p50'),
          ms('predicted_p90'),
          { name: 'key_task', type: 'varchar', length: '100', isNullable: true },
          { name: 'critical_path', type: 'text', isNullable: true },
          { name: 'reason', type: 'varchar', length: '300', isNullable: true },
          { name: 'task_breaches', type: 'text', isNullable: true },
          ms('at_risk_at'),
          ms('decided_at'),
          ms('next_check_at'),
          ms('created_at', false),
          ms('updated_at', false),
        ],
        indices: [
          new TableIndex({ name: 'ix_run_slas_due', columnNames: ['next_check_at'] }),
          new TableIndex({ name: 'ix_run_slas_tenant_job', columnNames: ['tenant_id', 'job_name', 'logical_date'] }),
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('run_slas', true);
  }
}
