import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** The audit log: hash-chained events per tenant, and each chain's head. */
export class Audit1732700000000 implements MigrationInterface {
  name = 'Audit1732700000000';

  async up(q: QueryRunner): Promise<void> {
    const mysql = q.connection.options.type === 'mysql' || q.connection.options.type === 'mariadb';
    await q.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          {
            name: 'id',
            type: mysql ? 'bigint' : 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'seq', type: 'int' },
          { name: 'event_id', type: 'varchar', length: '36' },
          { name: 'action', type: 'varchar', length: '100' },
          { name: 'actor', type: 'varchar', length: '200' },
          { name: 'target', type: 'varchar', length: '300' },
          { name: 'status', type: 'int' },
          { name: 'detail', type: mysql ? 'longtext' : 'text' },
          { name: 'occurred_at', type: 'bigint' },
          { name: 'prev_hash', type: 'varchar', length: '64' },
          { name: 'hash', type: 'varchar', length: '64' },
        ],
        indices: [
          new TableIndex({ name: 'uq_audit_tenant_seq', columnNames: ['tenant_id', 'seq'], isUnique: true }),
          new TableIndex({ name: 'uq_audit_event', columnNames: ['tenant_id', 'event_id'], isUnique: true }),
        ],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'audit_heads',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'seq', type: 'int' },
          { name: 'hash', type: 'varchar', length: '64' },
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('audit_heads', true);
    await q.dropTable('audit_events', true);
  }
}
