import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Alerts (services/insight): a tenant's channels (webhook, Slack, email; a
 * webhook's signing secret sealed) and rules, and one delivery row per
 * (event, rule, channel) under a UNIQUE dedupe key, so an event consumed
 * twice (a redelivery, a second replica) is one alert. Senders claim due
 * deliveries by `next_attempt_at` (index); the history reads a tenant's
 * deliveries newest first; the throttle looks up a rule and job's latest.
 */
export class Alerts1733800000000 implements MigrationInterface {
  name = 'Alerts1733800000000';

  async up(q: QueryRunner): Promise<void> {
    const ms = (name: string, nullable = true) => ({ name, type: 'bigint', isNullable: nullable });
    const id = { name: 'id', type: 'varchar', length: '36', isPrimary: true };
    const tenant = { name: 'tenant_id', type: 'varchar', length: '36' };
    const name = { name: 'name', type: 'varchar', length: '64' };
    await q.createTable(
      new Table({
        name: 'alert_channels',
        columns: [
          id,
          tenant,
          name,
          { name: 'type', type: 'varchar', length: '16' },
          { name: 'url', type: 'text', isNullable: true },
          { name: 'recipients', type: 'text', isNullable: true },
          { name: 'secret_sealed', type: 'text', isNullable: true },
          ms('created_at', false),
          ms('updated_at', false),
        ],
        indices: [
          new TableIndex({ name: 'ux_alert_channels_name', columnNames: ['tenant_id', 'name'], isUnique: true }),
        ],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'alert_rules',
        columns: [
          id,
          tenant,
          name,
          { name: 'events', type: 'text' },
          { name: 'jobs', type: 'text' },
          { name: 'channels', type: 'text' },
          ms('throttle_ms', false),
          ms('agent_offline_after_ms'),
          { name: 'enabled', type: 'boolean' },
          ms('created_at', false),
          ms('updated_at', false),
        ],
        indices: [new TableIndex({ name: 'ux_alert_rules_name', columnNames: ['tenant_id', 'name'], isUnique: true })],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'alert_deliveries',
        columns: [
          id,
          tenant,
          { name: 'dedupe_key', type: 'varchar', length: '200' },
          { name: 'event_id', type: 'varchar', length: '36' },
          { name: 'event', type: 'varchar', length: '32' },
          { name: 'resolved', type: 'boolean' },
          { name: 'rule_name', type: 'varchar', length: '64' },
          { name: 'channel_name', type: 'varchar', length: '64' },
          { name: 'job_name', type: 'varchar', length: '100', isNullable: true },
          { name: 'run_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'task_key', type: 'varchar', length: '100', isNullable: true },
          { name: 'reason', type: 'varchar', length: '500', isNullable: true },
          { name: 'facts', type: 'text' },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'int', default: 0 },
          { name: 'last_error', type: 'varchar', length: '500', isNullable: true },
          ms('next_attempt_at'),
          ms('sent_at'),
          ms('created_at', false),
          ms('updated_at', false),
        ],
        indices: [
          new TableIndex({ name: 'ux_alert_deliveries_dedupe', columnNames: ['dedupe_key'], isUnique: true }),
          new TableIndex({ name: 'ix_alert_deliveries_due', columnNames: ['next_attempt_at'] }),
          new TableIndex({ name: 'ix_alert_deliveries_history', columnNames: ['tenant_id', 'id'] }),
          new TableIndex({
            name: 'ix_alert_deliveries_throttle',
            columnNames: ['tenant_id', 'rule_name', 'job_name', 'created_at'],
          }),
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('alert_deliveries', true);
    await q.dropTable('alert_rules', true);
    await q.dropTable('alert_channels', true);
  }
}
