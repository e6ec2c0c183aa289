import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * Pools: named slots per tenant that tasks of any job draw on. Each task run
 * records its pool, so the dispatcher counts a pool's slots in use with one
 * indexed query.
 */
export class Pools1733200000000 implements MigrationInterface {
  name = 'Pools1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'pools',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'slots', type: 'int' },
          { name: 'description', type: 'varchar', length: '500', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
        indices: [new TableIndex({ name: 'uq_pools_tenant_name', columnNames: ['tenant_id', 'name'], isUnique: true })],
      }),
      true,
    );
    await q.addColumns('task_runs', [
      new TableColumn({ name: 'pool', type: 'varchar', length: '100', isNullable: true }),
      new TableColumn({ name: 'pool_slots', type: 'int', default: 1 }),
    ]);
    await q.createIndex(
      'task_runs',
      new TableIndex({ name: 'ix_task_runs_tenant_pool', columnNames: ['tenant_id', 'pool', 'state'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('task_runs', 'ix_task_runs_tenant_pool');
    await q.dropColumn('task_runs', 'pool_slots');
    await q.dropColumn('task_runs', 'pool');
    await q.dropTable('pools', true);
  }
}
