import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** The tenants' secrets for their tasks, sealed (AES-256-GCM), one name per tenant. */
export class Secrets1733600000000 implements MigrationInterface {
  name = 'Secrets1733600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'secrets',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'name', type: 'varchar', length: '64' },
          { name: 'sealed', type: 'text' },
          { name: 'key_id', type: 'varchar', length: '32' },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
          { name: 'updated_by', type: 'varchar', length: '300' },
        ],
        indices: [
          new TableIndex({ name: 'uq_secrets_tenant_name', columnNames: ['tenant_id', 'name'], isUnique: true }),
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('secrets', true);
  }
}
