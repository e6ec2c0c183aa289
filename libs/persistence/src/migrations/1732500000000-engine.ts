import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/** The workflow engine: timeouts, compensation, late results, backfills and the slot ledger. */
export class Engine1732500000000 implements MigrationInterface {
  name = 'Engine1732500000000';

  async up(q: QueryRunner): Promise<void> {
    const mysql = q.connection.options.type === 'mysql' || q.connection.options.type === 'mariadb';
    const text = mysql ? 'longtext' : 'text';
    await q.addColumns('attempts', [
      // Server-side deadline: timeout plus kill grace after the start.
      new TableColumn({ name: 'deadline_at', type: 'bigint', isNullable: true }),
      // `main` or `compensation` (SAGA).
      new TableColumn({ name: 'kind', type: 'varchar', length: '20', default: "'main'" }),
      // A result that arrived after the attempt was superseded: recorded, not applied.
      new TableColumn({ name: 'late_result', type: text, isNullable: true }),
    ]);
    await q.createIndex(
      'attempts',
      new TableIndex({ name: 'ix_attempts_deadline', columnNames: ['state', 'deadline_at'] }),
    );
    await q.addColumns('runs', [
      new TableColumn({ name: 'backfill_id', type: 'varchar', length: '36', isNullable: true }),
      new TableColumn({ name: 'parent_run_id', type: 'varchar', length: '36', isNullable: true }),
    ]);
    await q.addColumns('triggers', [
      // Anchor of fixed-rate slots (start time or creation).
      new TableColumn({ name: 'anchor_at', type: 'bigint', isNullable: true }),
    ]);
    await q.createTable(
      new Table({
        name: 'backfills',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'job_id', type: 'varchar', length: '36' },
          { name: 'job_name', type: 'varchar', length: '100' },
          { name: 'trigger_id', type: 'varchar', length: '36' },
          { name: 'slots', type: text },
          { name: 'next_index', type: 'int', default: 0 },
          { name: 'max_active_runs', type: 'int' },
          { name: 'state', type: 'varchar', length: '20' },
          { name: 'created_at', type: 'bigint' },
          { name: 'finished_at', type: 'bigint', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'ix_backfills_tenant', columnNames: ['tenant_id', 'created_at'] }),
          new TableIndex({ name: 'ix_backfills_state', columnNames: ['state'] }),
        ],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'trigger_slots',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'trigger_id', type: 'varchar', length: '36' },
          { name: 'job_name', type: 'varchar', length: '100' },
          { name: 'slot_at', type: 'bigint' },
          // fired | caught_up | misfired | skipped_overlap | queued_overlap | cancelled_previous
          { name: 'outcome', type: 'varchar', length: '30' },
          { name: 'run_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'recorded_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({ name: 'uq_trigger_slots', columnNames: ['trigger_id', 'slot_at'], isUnique: true }),
          new TableIndex({ name: 'ix_trigger_slots_job', columnNames: ['tenant_id', 'job_name', 'slot_at'] }),
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('trigger_slots', true);
    await q.dropTable('backfills', true);
    await q.dropColumn('triggers', 'anchor_at');
    await q.dropColumn('runs', 'parent_run_id');
    await q.dropColumn('runs', 'backfill_id');
    await q.dropIndex('attempts', 'ix_attempts_deadline');
    for (const c of ['late_result', 'kind', 'deadline_at']) await q.dropColumn('attempts', c);
  }
}
