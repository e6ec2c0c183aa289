import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * People: users (an email unique whatever its case), their memberships of
 * tenants with one role each, and their login sessions (token hashes only).
 */
export class Identity1733500000000 implements MigrationInterface {
  name = 'Identity1733500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'users',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'email', type: 'varchar', length: '254' },
          { name: 'email_key', type: 'varchar', length: '254' },
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'password_hash', type: 'varchar', length: '255', isNullable: true },
          { name: 'platform_admin', type: 'boolean', default: false },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
        indices: [new TableIndex({ name: 'uq_users_email_key', columnNames: ['email_key'], isUnique: true })],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'memberships',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'role', type: 'varchar', length: '40' },
          { name: 'created_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({ name: 'uq_memberships_tenant_user', columnNames: ['tenant_id', 'user_id'], isUnique: true }),
          new TableIndex({ name: 'ix_memberships_user', columnNames: ['user_id', 'created_at'] }),
        ],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'sessions',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'hash', type: 'varchar', length: '64' },
          { name: 'user_agent', type: 'varchar', length: '200', isNullable: true },
          { name: 'ip', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'last_seen_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
          { name: 'revoked_at', type: 'bigint', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'uq_sessions_hash', columnNames: ['hash'], isUnique: true }),
          new TableIndex({ name: 'ix_sessions_user', columnNames: ['user_id', 'created_at'] }),
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('sessions', true);
    await q.dropTable('memberships', true);
    await q.dropTable('users', true);
  }
}
