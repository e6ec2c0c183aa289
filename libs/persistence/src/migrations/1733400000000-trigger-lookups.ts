import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/**
 * Every successful run asks whether a dependency trigger of its tenant waits
 * on its job: an index from the tenant to its triggers of one type, so the
 * question reads that tenant's few dependency triggers, not every enabled
 * trigger of the platform.
 */
export class TriggerLookups1733400000000 implements MigrationInterface {
  name = 'TriggerLookups1733400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'triggers',
      new TableIndex({ name: 'ix_triggers_tenant_type', columnNames: ['tenant_id', 'type', 'enabled'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('triggers', 'ix_triggers_tenant_type');
  }
}
