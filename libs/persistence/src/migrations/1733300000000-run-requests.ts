import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

/**
 * Run requests wait in a table, not in a Kafka partition: any scheduler
 * replica claims them (`FOR UPDATE SKIP LOCKED`), so a killed replica's
 * requests go to the others as soon as its connection closes, with no
 * consumer-group session timeout or rebalance on the way. A request that
 * keeps failing is set aside after a few tries (`failures`, `last_error`)
 * rather than blocking the ones behind it. Claims read in `seq` order (the
 * primary key); set-aside rows are few.
 */
export class RunRequests1733300000000 implements MigrationInterface {
  name = 'RunRequests1733300000000';

  async up(q: QueryRunner): Promise<void> {
    const mysql = q.connection.options.type === 'mysql' || q.connection.options.type === 'mariadb';
    await q.createTable(
      new Table({
        name: 'run_requests',
        columns: [
          {
            name: 'seq',
            type: mysql ? 'bigint' : 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'payload', type: mysql ? 'longtext' : 'text' },
          { name: 'created_at', type: 'bigint' },
          { name: 'failures', type: 'int', default: 0 },
          { name: 'last_error', type: 'varchar', length: '1000', isNullable: true },
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('run_requests', true);
  }
}
