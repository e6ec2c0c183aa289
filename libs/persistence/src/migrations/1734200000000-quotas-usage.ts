import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * The rest of a tenant's quotas (null = not limited) and the state of its
 * runs-per-minute token bucket; runs waiting for the tenant's
 * maxConcurrentRuns (`queued_by`, read with the job's queue in one statement); what each attempt counts against the CPU and
 * memory quotas; usage per tenant and day. Usage of runs and attempts is read
 * at query time from `ix_runs_tenant_started` / `ix_runs_tenant_finished` /
 * `ix_attempts_tenant_finished` (index maintenance in statements that exist,
 * no statement more per task); agent time is added to `tenant_usage_daily`
 * when a session ends (once per connection), and CPU time measured on the
 * agents once per flush of results (one statement for the whole flush).
 */
export class QuotasUsage1734200000000 implements MigrationInterface {
  name = 'QuotasUsage1734200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns(
      'tenant_quotas',
      [
        'max_jobs',
        'runs_per_minute',
        'max_concurrent_runs',
        'max_cpu_millis',
        'max_memory_mb',
        'max_agents',
        'max_backfill_size',
      ].map((name) => new TableColumn({ name, type: 'int', isNullable: true })),
    );
    await q.addColumns('tenant_quotas', [
      new TableColumn({ name: 'run_bucket_milli_tokens', type: 'bigint', isNullable: true }),
      new TableColumn({ name: 'run_bucket_at', type: 'bigint', isNullable: true }),
    ]);
    await q.addColumns('attempts', [
      new TableColumn({ name: 'quota_cpu_millis', type: 'int', default: 0 }),
      new TableColumn({ name: 'quota_memory_mb', type: 'int', default: 0 }),
    ]);
    await q.addColumn('run_requests', new TableColumn({ name: 'not_before', type: 'bigint', isNullable: true }));
    await q.addColumn('runs', new TableColumn({ name: 'queued_by', type: 'varchar', length: '20', isNullable: true }));
    await q.createIndex(
      'runs',
      new TableIndex({
        name: 'ix_runs_tenant_queued_by',
        columnNames: ['tenant_id', 'queued_by', 'state', 'created_at'],
      }),
    );
    await q.createIndex(
      'runs',
      new TableIndex({ name: 'ix_runs_tenant_started', columnNames: ['tenant_id', 'started_at'] }),
    );
    await q.createIndex(
      'runs',
      new TableIndex({ name: 'ix_runs_tenant_finished', columnNames: ['tenant_id', 'finished_at', 'state'] }),
    );
    await q.createIndex(
      'attempts',
      new TableIndex({
        name: 'ix_attempts_tenant_finished',
        columnNames: ['tenant_id', 'finished_at', 'started_at'],
      }),
    );
    await q.createTable(
      new Table({
        name: 'tenant_usage_daily',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '36', isPrimary: true },
          // The day's first instant (UTC, epoch ms).
          { name: 'day', type: 'bigint', isPrimary: true },
          { name: 'agent_ms', type: 'bigint', default: 0 },
          { name: 'cpu_ms', type: 'bigint', default: 0 },
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('tenant_usage_daily', true);
    await q.dropIndex('attempts', 'ix_attempts_tenant_finished');
    await q.dropIndex('runs', 'ix_runs_tenant_finished');
    await q.dropIndex('runs', 'ix_runs_tenant_started');
    await q.dropIndex('runs', 'ix_runs_tenant_queued_by');
    await q.dropColumn('runs', 'queued_by');
    await q.dropColumn('run_requests', 'not_before');
    await q.dropColumn('attempts', 'quota_memory_mb');
    await q.dropColumn('attempts', 'quota_cpu_millis');
    for (const c of [
      'run_bucket_at',
      'run_bucket_milli_tokens',
      'max_backfill_size',
      'max_agents',
      'max_memory_mb',
      'max_cpu_millis',
      'max_concurrent_runs',
      'runs_per_minute',
      'max_jobs',
    ])
      await q.dropColumn('tenant_quotas', c);
  }
}
