import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

/** Per-tenant quotas (null = not limited). */
export class Quotas1732900000000 implements MigrationInterface {
  name = 'Quotas1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'tenant_quotas',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'max_running_tasks', type: 'int', isNullable: true },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('tenant_quotas', true);
  }
}
