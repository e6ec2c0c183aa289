import { Inject, Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { ApiKeyEntity, Database, DEFAULT_TENANT_NAME, TenantEntity, newId, scoped } from '@baton/persistence';
import { issueToken, tokenFromSecret } from '@baton/auth';
import { BATON_CONFIG, type BatonConfig, ConfigError } from '@baton/config';

export interface BootstrapResult {
  tenantId: string;
  /** The admin API key, only when it was generated now (shown once, never stored). */
  generatedToken: string | null;
}

/** First start: the `default` tenant and its first admin API key. Idempotent. */
@Injectable()
export class BootstrapService {
  constructor(
    private readonly db: Database,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  async run(): Promise<BootstrapResult> {
    return this.db.tx(async (m) => {
      let tenant = await m.findOne(TenantEntity, { where: { name: DEFAULT_TENANT_NAME } });
      if (!tenant) {
        tenant = { id: newId(), name: DEFAULT_TENANT_NAME, createdAt: Date.now() };
        await m.insert(TenantEntity, tenant);
      }
      const wanted = this.config.bootstrapToken;
      if (wanted) {
        const t = tokenFromSecret(wanted);
        // across tenants: a key's hash is unique over all tenants
        const exists = await m.findOne(ApiKeyEntity, { where: { hash: t.hash } });
        if (!exists)
          await scoped(m, { tenantId: tenant.id }).insert(ApiKeyEntity, this.adminKey(tenant.id, t.prefix, t.hash));
        return { tenantId: tenant.id, generatedToken: null };
      }
      const anyKey = await scoped(m, { tenantId: tenant.id }).findOne(ApiKeyEntity, { where: { revokedAt: IsNull() } });
      if (anyKey) return { tenantId: tenant.id, generatedToken: null };
      if (this.config.mode === 'production') {
        // A generated key would be shown by no one here (services run unattended): require the operator's.
        throw new ConfigError(['BATON_BOOTSTRAP_TOKEN: required in production mode to create the first admin key']);
      }
      const t = issueToken('key');
      await scoped(m, { tenantId: tenant.id }).insert(ApiKeyEntity, this.adminKey(tenant.id, t.prefix, t.hash));
      return { tenantId: tenant.id, generatedToken: t.token };
    });
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
    };
  }
}
