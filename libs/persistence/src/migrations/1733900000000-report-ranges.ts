import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/**
 * The reports (services/insight) read one tenant's runs over a range of
 * logical dates and aggregate them by job: `ix_runs_tenant_logical` holds
 * every column they read (job name, state, start, finish), so a month of
 * history is an index-only range scan, never a row lookup per run. The SLA
 * list reads a tenant's runs in one SLA state, newest first, and the reports
 * count met and missed SLAs by job and day: `ix_run_slas_tenant_state`
 * (covering those counts too).
 */
export class ReportRanges1733900000000 implements MigrationInterface {
  name = 'ReportRanges1733900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'runs',
      new TableIndex({
        name: 'ix_runs_tenant_logical',
        columnNames: ['tenant_id', 'logical_date', 'job_name', 'state', 'started_at', 'finished_at'],
      }),
    );
    await q.createIndex(
      'run_slas',
      new TableIndex({
        name: 'ix_run_slas_tenant_state',
        columnNames: ['tenant_id', 'state', 'logical_date', 'job_name'],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('run_slas', 'ix_run_slas_tenant_state');
    await q.dropIndex('runs', 'ix_runs_tenant_logical');
  }
}
