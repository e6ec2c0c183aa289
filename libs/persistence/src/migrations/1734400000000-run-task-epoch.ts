import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/**
 * A counter on each run that moves whenever a task of a large run changes in a
 * way readiness depends on (it settles, or a pending task is decided). A
 * scheduler that remembers a large run's task states checks it under the run's
 * lock instead of reading every task of the run again for each result batch.
 */
export class RunTaskEpoch1734400000000 implements MigrationInterface {
  name = 'RunTaskEpoch1734400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('runs', new TableColumn({ name: 'task_epoch', type: 'int', default: 0 }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('runs', 'task_epoch');
  }
}
