import { Inject, Injectable } from '@nestjs/common';
import { type EntityManager, IsNull } from 'typeorm';
import {
  ApiKeyEntity,
  Database,
  DEFAULT_TENANT_NAME,
  MembershipEntity,
  TenantEntity,
  UserEntity,
  newId,
  scoped,
} from '@baton/persistence';
import { generatePassword, hashPassword, issueToken, tokenFromSecret } from '@baton/auth';
import { BATON_CONFIG, type BatonConfig, ConfigError } from '@baton/config';
import { emailKey } from '../users/users.views.js';
import { newTenant } from '../tenants/tenants.service.js';

export const DEFAULT_ADMIN_EMAIL = 'admin@localhost';

export interface BootstrapResult {
  tenantId: string;
  /** The admin API key, only when it was generated now (shown once, never stored). */
  generatedToken: string | null;
  /** The first platform admin user, only when created now; its password only when generated now. */
  admin: { email: string; generatedPassword: string | null } | null;
}

/** First start: the `default` tenant, its first admin API key and the first platform admin user. Idempotent. */
@Injectable()
export class BootstrapService {
  constructor(
    private readonly db: Database,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  async run(): Promise<BootstrapResult> {
    const admin = await this.adminCredentials();
    return this.db.tx(async (m) => {
      let tenant = await m.findOne(TenantEntity, { where: { name: DEFAULT_TENANT_NAME } });
      if (!tenant) {
        tenant = newTenant(DEFAULT_TENANT_NAME, Date.now());
        await m.insert(TenantEntity, tenant);
      }
      const created = admin ? await this.adminUser(m, tenant.id, admin) : null;
      return { tenantId: tenant.id, generatedToken: await this.firstKey(m, tenant.id), admin: created };
    });
  }

  /** The admin key's token when it was generated now. */
  private async firstKey(m: EntityManager, tenantId: string): Promise<string | null> {
    const wanted = this.config.bootstrapToken;
    if (wanted) {
      const t = tokenFromSecret(wanted);
      // across tenants: a key's hash is unique over all tenants
      const exists = await m.findOne(ApiKeyEntity, { where: { hash: t.hash } });
      if (!exists) await scoped(m, { tenantId }).insert(ApiKeyEntity, this.adminKey(tenantId, t.prefix, t.hash));
      return null;
    }
    const anyKey = await scoped(m, { tenantId }).findOne(ApiKeyEntity, { where: { revokedAt: IsNull() } });
    if (anyKey) return null;
    if (this.config.mode === 'production') {
      // A generated key would be shown by no one here (services run unattended): require the operator's.
      throw new ConfigError(['BATON_BOOTSTRAP_TOKEN: required in production mode to create the first admin key']);
    }
    const t = issueToken('key');
    await scoped(m, { tenantId }).insert(ApiKeyEntity, this.adminKey(tenantId, t.prefix, t.hash));
    return t.token;
  }

  /**
   * The first admin's email and password, hashed outside the transaction
   * (argon2 takes a while); null in production without BATON_ADMIN_EMAIL and
   * BATON_ADMIN_PASSWORD, or once a platform admin user exists.
   */
  private async adminCredentials(): Promise<{ email: string; hash: string; generated: string | null } | null> {
    const { email, password } = this.config.auth.admin;
    if (this.config.mode === 'production' && password === null) return null;
    const exists = await this.db.manager.findOne(UserEntity, { where: { platformAdmin: true }, select: { id: true } });
    if (exists) return null;
    const generated = password === null ? generatePassword() : null;
    return { email: email ?? DEFAULT_ADMIN_EMAIL, hash: await hashPassword(password ?? generated!), generated };
  }

  private async adminUser(
    m: EntityManager,
    tenantId: string,
    admin: { email: string; hash: string; generated: string | null },
  ): Promise<BootstrapResult['admin']> {
    // Another replica may have created it meanwhile.
    const key = emailKey(admin.email);
    if (await m.findOne(UserEntity, { where: [{ platformAdmin: true }, { emailKey: key }], select: { id: true } })) {
      return null;
    }
    const now = Date.now();
    const user: UserEntity = {
      id: newId(now),
      email: admin.email,
      emailKey: key,
      name: 'Platform admin',
      passwordHash: admin.hash,
      platformAdmin: true,
      createdAt: now,
      updatedAt: now,
    };
    await m.insert(UserEntity, user);
    await scoped(m, { tenantId }).insert(MembershipEntity, {
      id: newId(now),
      tenantId,
      userId: user.id,
      role: 'tenant_admin',
      createdAt: now,
    });
    return { email: user.email, generatedPassword: admin.generated };
  }

  private adminKey(tenantId: string, prefix: string, hash: string): ApiKeyEntity {
    return {
      id: newId(),
      tenantId,
      name: 'bootstrap admin',
      role: 'platform_admin',
      prefix,
      hash,
      createdAt: Date.now(),
      revokedAt: null,
      expiresAt: null,
      lastUsedAt: null,
    };
  }
}
