import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/**
 * The tasks a run's SLA prediction made without history (no successful
 * attempt yet), each with the duration assumed for it and where it came from
 * (its maxDuration, its timeout, or the default): shown in the prediction so
 * "on time" for a job that never ran is not taken for knowledge.
 */
export class SlaAssumedTasks1734600000000 implements MigrationInterface {
  name = 'SlaAssumedTasks1734600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('run_slas', new TableColumn({ name: 'assumed_tasks', type: 'text', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('run_slas', 'assumed_tasks');
  }
}
