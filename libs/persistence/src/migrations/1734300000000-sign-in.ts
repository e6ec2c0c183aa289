import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Ways in besides a password: invitations to a tenant, password reset links
 * (both one-time tokens stored as hashes), accounts at OpenID providers, and
 * the SSO sign-ins under way (state, PKCE verifier, nonce).
 */
export class SignIn1734300000000 implements MigrationInterface {
  name = 'SignIn1734300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'invitations',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '36' },
          { name: 'email', type: 'varchar', length: '254' },
          { name: 'email_key', type: 'varchar', length: '254' },
          { name: 'role', type: 'varchar', length: '40' },
          { name: 'hash', type: 'varchar', length: '64' },
          { name: 'invited_by', type: 'varchar', length: '200' },
          { name: 'created_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
          { name: 'accepted_at', type: 'bigint', isNullable: true },
          { name: 'accepted_user_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'revoked_at', type: 'bigint', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'uq_invitations_hash', columnNames: ['hash'], isUnique: true }),
          new TableIndex({ name: 'ix_invitations_tenant_email', columnNames: ['tenant_id', 'email_key'] }),
        ],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'password_resets',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'hash', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
          { name: 'used_at', type: 'bigint', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'uq_password_resets_hash', columnNames: ['hash'], isUnique: true }),
          new TableIndex({ name: 'ix_password_resets_user', columnNames: ['user_id'] }),
        ],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'user_identities',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'issuer', type: 'varchar', length: '255' },
          { name: 'subject', type: 'varchar', length: '255' },
          { name: 'created_at', type: 'bigint' },
          { name: 'last_login_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({
            name: 'uq_user_identities_issuer_subject',
            columnNames: ['issuer', 'subject'],
            isUnique: true,
          }),
          new TableIndex({ name: 'ix_user_identities_user', columnNames: ['user_id'] }),
        ],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'oidc_logins',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'state_hash', type: 'varchar', length: '64' },
          { name: 'code_verifier', type: 'varchar', length: '128' },
          { name: 'nonce', type: 'varchar', length: '128' },
          { name: 'return_to', type: 'varchar', length: '500', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({ name: 'uq_oidc_logins_state_hash', columnNames: ['state_hash'], isUnique: true }),
          new TableIndex({ name: 'ix_oidc_logins_expires', columnNames: ['expires_at'] }),
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('oidc_logins', true);
    await q.dropTable('user_identities', true);
    await q.dropTable('password_resets', true);
    await q.dropTable('invitations', true);
  }
}
