import { Injectable } from '@nestjs/common';
import { ApiKeyEntity, Database, type TenantScope, newId, scoped } from '@baton/persistence';
import { issueToken, type Role } from '@baton/auth';
import { ProblemException } from '@baton/http';

export interface ApiKeyView {
  id: string;
  name: string;
  role: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

const view = (k: ApiKeyEntity): ApiKeyView => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.prefix,
  createdAt: new Date(k.createdAt).toISOString(),
  revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
});

@Injectable()
export class ApiKeysService {
  constructor(private readonly db: Database) {}

  async create(scope: TenantScope, name: string, role: Role): Promise<ApiKeyView & { token: string }> {
    if (role === 'platform_admin')
      throw ProblemException.invalidField('role', 'platform_admin keys are issued only at bootstrap');
    const t = issueToken('key');
    const row: ApiKeyEntity = {
      id: newId(),
      tenantId: scope.tenantId,
      name,
      role,
      prefix: t.prefix,
      hash: t.hash,
      createdAt: Date.now(),
      revokedAt: null,
    };
    await this.db.tx((m) => scoped(m, scope).insert(ApiKeyEntity, row));
    return { ...view(row), token: t.token };
  }

  async list(scope: TenantScope): Promise<ApiKeyView[]> {
    const rows = await scoped(this.db.manager, scope).find(ApiKeyEntity, { where: {}, order: { createdAt: 'DESC' } });
    return rows.map(view);
  }

  async revoke(scope: TenantScope, id: string): Promise<ApiKeyView> {
    return this.db.tx(async (m) => {
      const k = await scoped(m, scope).findOne(ApiKeyEntity, { where: { id } });
      if (!k) throw ProblemException.notFound(`API key ${id}`);
      if (k.revokedAt === null) {
        k.revokedAt = Date.now();
        await scoped(m, scope).update(ApiKeyEntity, { id: k.id }, { revokedAt: k.revokedAt });
      }
      return view(k);
    });
  }
}
