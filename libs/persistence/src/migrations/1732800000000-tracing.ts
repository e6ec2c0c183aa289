import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/** Each run's W3C trace context, handed to its tasks and events. */
export class Tracing1732800000000 implements MigrationInterface {
  name = 'Tracing1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn(
      'runs',
      new TableColumn({ name: 'traceparent', type: 'varchar', length: '55', isNullable: true }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('runs', 'traceparent');
  }
}
