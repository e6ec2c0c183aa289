import { type MigrationInterface, type QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * Backfills skip logical dates that already have a run of the job unless
 * asked to rerun them, and say which they skipped; finding those runs takes
 * an index on the job's logical dates.
 */
export class BackfillReruns1733000000000 implements MigrationInterface {
  name = 'BackfillReruns1733000000000';

  async up(q: QueryRunner): Promise<void> {
    const mysql = q.connection.options.type === 'mysql' || q.connection.options.type === 'mariadb';
    await q.addColumns('backfills', [
      new TableColumn({ name: 'rerun_existing', type: 'boolean', default: false }),
      // JSON array of the slots (epoch ms) skipped because their date already had a run.
      new TableColumn({ name: 'skipped_slots', type: mysql ? 'longtext' : 'text', isNullable: true }),
    ]);
    await q.createIndex(
      'runs',
      new TableIndex({ name: 'ix_runs_tenant_job_logical', columnNames: ['tenant_id', 'job_id', 'logical_date'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('runs', 'ix_runs_tenant_job_logical');
    await q.dropColumn('backfills', 'skipped_slots');
    await q.dropColumn('backfills', 'rerun_existing');
  }
}
