import { Injectable } from '@nestjs/common';
import { ApiKeyEntity, Database, type TenantScope, newId, scoped } from '@baton/persistence';
import { type Principal, assertMayGrant, isRole, issueToken, type Role } from '@baton/auth';
import { ProblemException } from '@baton/http';

export interface ApiKeyView {
  id: string;
  name: string;
  role: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const view = (k: ApiKeyEntity): ApiKeyView => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.prefix,
  createdAt: new Date(k.createdAt).toISOString(),
  revokedAt: iso(k.revokedAt),
  expiresAt: iso(k.expiresAt),
  lastUsedAt: iso(k.lastUsedAt),
});

@Injectable()
export class ApiKeysService {
  constructor(private readonly db: Database) {}

  async create(
    p: Principal,
    name: string,
    role: Role,
    expiresAt: number | null = null,
  ): Promise<ApiKeyView & { token: string }> {
    if (role === 'platform_admin')
      throw ProblemException.invalidField('role', 'platform_admin keys are issued only at bootstrap');
    assertMayGrant(p, role, 'issue a key of', 'role');
    const t = issueToken('key');
    const row: ApiKeyEntity = {
      id: newId(),
      tenantId: p.tenantId,
      name,
      role,
      prefix: t.prefix,
      hash: t.hash,
      createdAt: Date.now(),
      revokedAt: null,
      expiresAt,
      lastUsedAt: null,
    };
    await this.db.tx((m) => scoped(m, p).insert(ApiKeyEntity, row));
    return { ...view(row), token: t.token };
  }

  async list(scope: TenantScope): Promise<ApiKeyView[]> {
    const rows = await scoped(this.db.manager, scope).find(ApiKeyEntity, { where: {}, order: { createdAt: 'DESC' } });
    return rows.map(view);
  }

  /** Revokes a key of the caller's tenant; nobody revokes a key of a role above their own (the platform admin's). */
  async revoke(p: Principal, id: string): Promise<ApiKeyView> {
    return this.db.tx(async (m) => {
      const k = await scoped(m, p).findOne(ApiKeyEntity, { where: { id } });
      if (!k) throw ProblemException.notFound(`API key ${id}`);
      // A key with a role this build does not know ranks as the highest.
      assertMayGrant(p, isRole(k.role) ? k.role : 'platform_admin', 'revoke a key of');
      if (k.revokedAt === null) {
        k.revokedAt = Date.now();
        await scoped(m, p).update(ApiKeyEntity, { id: k.id }, { revokedAt: k.revokedAt });
      }
      return view(k);
    });
  }
}
