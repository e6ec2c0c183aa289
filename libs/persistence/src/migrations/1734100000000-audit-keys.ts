import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * The audit chain is keyed (each record names the key it was chained under;
 * null: the unkeyed records written before) and each tenant's head is
 * checkpointed: signed (seq, hash) pairs that can be exported and checked later.
 */
export class AuditKeys1734100000000 implements MigrationInterface {
  name = 'AuditKeys1734100000000';

  async up(q: QueryRunner): Promise<void> {
    const mysql = q.connection.options.type === 'mysql' || q.connection.options.type === 'mariadb';
    await q.addColumn(
      'audit_events',
      new TableColumn({ name: 'key_id', type: 'varchar', length: '32', isNullable: true }),
    );
    await q.addColumns('audit_heads', [
      new TableColumn({ name: 'checkpoint_seq', type: 'int', default: 0 }),
      new TableColumn({ name: 'checkpoint_at', type: 'bigint', isNullable: true }),
    ]);
    await q.createTable(
      new Table({
        name: 'audit_checkpoints',
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
          { name: 'hash', type: 'varchar', length: '64' },
          { name: 'at', type: 'bigint' },
          { name: 'key_id', type: 'varchar', length: '32' },
          { name: 'signature', type: 'varchar', length: '64' },
        ],
        indices: [new TableIndex({ name: 'ix_audit_checkpoints_tenant_seq', columnNames: ['tenant_id', 'seq'] })],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('audit_checkpoints', true);
    await q.dropColumn('audit_heads', 'checkpoint_at');
    await q.dropColumn('audit_heads', 'checkpoint_seq');
    await q.dropColumn('audit_events', 'key_id');
  }
}
