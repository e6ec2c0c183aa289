import { type MigrationInterface, type QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * Dispatch claims each tenant's queue on its own (weighted-fair across
 * tenants), and a job's `maxActiveRuns` counts its running runs: both need an
 * index that starts with the tenant.
 */
export class FairDispatch1733100000000 implements MigrationInterface {
  name = 'FairDispatch1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('tenant_quotas', new TableColumn({ name: 'dispatch_weight', type: 'int', isNullable: true }));
    await q.createIndex(
      'task_runs',
      new TableIndex({
        name: 'ix_task_runs_tenant_claim',
        columnNames: ['tenant_id', 'state', 'priority', 'ready_at'],
      }),
    );
    await q.createIndex(
      'runs',
      new TableIndex({ name: 'ix_runs_tenant_job_state', columnNames: ['tenant_id', 'job_id', 'state', 'created_at'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('runs', 'ix_runs_tenant_job_state');
    await q.dropIndex('task_runs', 'ix_task_runs_tenant_claim');
    await q.dropColumn('tenant_quotas', 'dispatch_weight');
  }
}
