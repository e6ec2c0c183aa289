import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/**
 * Runs created ahead of their time trigger's slot wait in the `scheduled`
 * state; at the slot every scheduler replica claims the due ones across
 * tenants by state and logical date (the slot), which this index serves.
 */
export class ScheduledRuns1734500000000 implements MigrationInterface {
  name = 'ScheduledRuns1734500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'runs',
      new TableIndex({ name: 'ix_runs_state_logical', columnNames: ['state', 'logical_date'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('runs', 'ix_runs_state_logical');
  }
}
