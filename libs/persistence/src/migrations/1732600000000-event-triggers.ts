import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** Event-driven triggers: webhook secrets and the ledger of deliveries that requested a run. */
export class EventTriggers1732600000000 implements MigrationInterface {
  name = 'EventTriggers1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'trigger_secrets',
        columns: [
          { name: 'trigger_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          // AES-256-GCM sealed: `v1.<iv>.<tag>.<ciphertext>` (base64url).
          { name: 'secret', type: 'varchar', length: '200' },
          { name: 'created_at', type: 'bigint' },
          { name: 'rotated_at', type: 'bigint', isNullable: true },
        ],
        indices: [new TableIndex({ name: 'ix_trigger_secrets_tenant', columnNames: ['tenant_id'] })],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'trigger_deliveries',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'trigger_id', type: 'varchar', length: '36' },
          { name: 'dedupe_key', type: 'varchar', length: '200' },
          { name: 'logical_date', type: 'bigint' },
          { name: 'received_at', type: 'bigint' },
        ],
        indices: [
          // One run request per (tenant, dedupe key), like the runs it asks for.
          new TableIndex({ name: 'uq_trigger_deliveries', columnNames: ['tenant_id', 'dedupe_key'], isUnique: true }),
          new TableIndex({ name: 'ix_trigger_deliveries_trigger', columnNames: ['trigger_id', 'received_at'] }),
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('trigger_deliveries', true);
    await q.dropTable('trigger_secrets', true);
  }
}
