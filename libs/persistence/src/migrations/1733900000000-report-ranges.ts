import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/**
 * The reports (services/insight) read one tenant's runs over a range of
 * logical dates, of all its jobs (`ix_runs_tenant_logical`; one job's range
 * has `ix_runs_tenant_job_logical` already), and the SLA list reads a
 * tenant's runs in one SLA state, newest first (`ix_run_slas_tenant_state`).
 */
export class ReportRanges1733900000000 implements MigrationInterface {
  name = 'ReportRanges1733900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'runs',
      new TableIndex({ name: 'ix_runs_tenant_logical', columnNames: ['tenant_id', 'logical_date'] }),
    );
    await q.createIndex(
      'run_slas',
      new TableIndex({ name: 'ix_run_slas_tenant_state', columnNames: ['tenant_id', 'state', 'logical_date'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('run_slas', 'ix_run_slas_tenant_state');
    await q.dropIndex('runs', 'ix_runs_tenant_logical');
  }
}
