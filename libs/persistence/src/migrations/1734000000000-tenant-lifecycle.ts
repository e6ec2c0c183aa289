import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/**
 * Tenants have a lifecycle (`active`, `suspended`, `deleted`: soft, purged
 * later) with the reason and time of the last change; API keys may expire and
 * say when they were last used.
 */
export class TenantLifecycle1734000000000 implements MigrationInterface {
  name = 'TenantLifecycle1734000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('tenants', [
      new TableColumn({ name: 'state', type: 'varchar', length: '16', default: "'active'" }),
      new TableColumn({ name: 'state_reason', type: 'varchar', length: '300', isNullable: true }),
      new TableColumn({ name: 'state_changed_at', type: 'bigint', isNullable: true }),
    ]);
    await q.addColumns('api_keys', [
      new TableColumn({ name: 'expires_at', type: 'bigint', isNullable: true }),
      new TableColumn({ name: 'last_used_at', type: 'bigint', isNullable: true }),
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('api_keys', 'last_used_at');
    await q.dropColumn('api_keys', 'expires_at');
    await q.dropColumn('tenants', 'state_changed_at');
    await q.dropColumn('tenants', 'state_reason');
    await q.dropColumn('tenants', 'state');
  }
}
