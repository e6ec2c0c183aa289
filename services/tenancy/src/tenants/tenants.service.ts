import { Injectable } from '@nestjs/common';
import { ApiKeyEntity, Database, TenantEntity, isUniqueViolation, newId, scoped } from '@baton/persistence';
import { issueToken } from '@baton/auth';
import { ProblemException } from '@baton/http';

export interface TenantView {
  id: string;
  name: string;
  createdAt: string;
}

const view = (t: TenantEntity): TenantView => ({
  id: t.id,
  name: t.name,
  createdAt: new Date(t.createdAt).toISOString(),
});

/** Tenants are created by platform admins; each starts with one tenant_admin API key. */
@Injectable()
export class TenantsService {
  constructor(private readonly db: Database) {}

  async create(name: string): Promise<TenantView & { adminToken: string }> {
    const now = Date.now();
    const tenant: TenantEntity = { id: newId(now), name, createdAt: now };
    const t = issueToken('key');
    try {
      await this.db.tx(async (m) => {
        await m.insert(TenantEntity, tenant);
        await scoped(m, { tenantId: tenant.id }).insert(ApiKeyEntity, {
          id: newId(now),
          tenantId: tenant.id,
          name: `${name} admin`,
          role: 'tenant_admin',
          prefix: t.prefix,
          hash: t.hash,
          createdAt: now,
          revokedAt: null,
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw ProblemException.conflict(`tenant ${name} already exists`);
      throw err;
    }
    return { ...view(tenant), adminToken: t.token };
  }

  async list(): Promise<TenantView[]> {
    const rows = await this.db.manager.find(TenantEntity, { order: { name: 'ASC' } });
    return rows.map(view);
  }

  async get(id: string): Promise<TenantView> {
    const t = await this.db.manager.findOne(TenantEntity, { where: { id } });
    if (!t) throw ProblemException.notFound(`tenant ${id}`);
    return view(t);
  }
}
