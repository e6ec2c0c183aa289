import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  ApiKeyEntity,
  DEFAULT_TENANT_NAME,
  Database,
  TenantEntity,
  type TenantState,
  isUniqueViolation,
  findTenant,
  newId,
  purgeTenantRows,
  scoped,
} from '@baton/persistence';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { type Principal, auditRecord, issueToken } from '@baton/auth';
import { ProblemException } from '@baton/http';

export interface TenantView {
  id: string;
  name: string;
  state: TenantState;
  stateReason: string | null;
  stateChangedAt: string | null;
  createdAt: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const view = (t: TenantEntity): TenantView => ({
  id: t.id,
  name: t.name,
  state: t.state,
  stateReason: t.stateReason,
  stateChangedAt: iso(t.stateChangedAt),
  createdAt: new Date(t.createdAt).toISOString(),
});

export function newTenant(name: string, now: number): TenantEntity {
  return { id: newId(now), name, createdAt: now, state: 'active', stateReason: null, stateChangedAt: null };
}

/** Which lifecycle moves a tenant may make, and what each is called in the audit log. */
const MOVES = {
  suspend: { from: ['active', 'suspended'], to: 'suspended', action: 'tenant.suspended' },
  resume: { from: ['suspended'], to: 'active', action: 'tenant.resumed' },
  delete: { from: ['active', 'suspended', 'deleted'], to: 'deleted', action: 'tenant.deleted' },
} as const satisfies Record<string, { from: readonly TenantState[]; to: TenantState; action: string }>;
export type TenantMove = keyof typeof MOVES;

/**
 * Tenants are created by platform admins; each starts with one tenant_admin
 * API key. Platform admins suspend (calls refused with the reason, triggers do
 * not fire, agents refused), resume and delete them (soft: the rows stay until
 * a purge); every change is audited in the transaction that makes it, in the
 * tenant's log and in the platform admin's own.
 */
@Injectable()
export class TenantsService {
  constructor(
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
  ) {}

  async create(name: string): Promise<TenantView & { adminToken: string }> {
    const now = Date.now();
    const tenant = newTenant(name, now);
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
          expiresAt: null,
          lastUsedAt: null,
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw ProblemException.conflict(`tenant ${name} already exists`);
      throw err;
    }
    return { ...view(tenant), adminToken: t.token };
  }

  async list(state?: TenantState): Promise<TenantView[]> {
    // across tenants: platform admins list every tenant
    const rows = await this.db.manager.find(TenantEntity, { where: state ? { state } : {}, order: { name: 'ASC' } });
    return rows.map(view);
  }

  async get(id: string): Promise<TenantView> {
    return view(await this.find(this.db.manager, id));
  }

  /** A tenant by id or by name; 404 when there is none. */
  private async find(m: EntityManager, idOrName: string): Promise<TenantEntity> {
    // across tenants: platform admins address any tenant
    const t = await findTenant(m, idOrName);
    if (!t) throw ProblemException.notFound(`tenant ${idOrName}`);
    return t;
  }

  /** Suspends, resumes or (softly) deletes a tenant; the platform's own tenant can do none of these. */
  async move(p: Principal, idOrName: string, move: TenantMove, reason: string | null): Promise<TenantView> {
    const rule = MOVES[move];
    const out = await this.db.tx(async (m) => {
      const t = await this.find(m, idOrName);
      // The tenant the platform admins live in can be neither suspended nor deleted.
      if (t.name === DEFAULT_TENANT_NAME) {
        throw ProblemException.conflict(`tenant ${t.name} holds the platform admins: it cannot be ${rule.to}`);
      }
      if (!(rule.from as readonly TenantState[]).includes(t.state)) {
        throw ProblemException.conflict(`tenant ${t.name} is ${t.state}: it cannot be ${move}d`);
      }
      const now = Date.now();
      const next: Pick<TenantEntity, 'state' | 'stateReason' | 'stateChangedAt'> = {
        state: rule.to,
        stateReason: rule.to === 'active' ? null : reason,
        stateChangedAt: now,
      };
      // across tenants: the platform admin changes this tenant's state (compare-and-set on the state read above)
      const res = await m.update(TenantEntity, { id: t.id, state: t.state }, next);
      if (res.affected === 0) throw ProblemException.conflict(`tenant ${t.name} changed meanwhile: try again`);
      const detail = { tenant: t.name, from: t.state, to: rule.to, ...(reason ? { reason } : {}) };
      await enqueueAudit(m, auditRecord(p, rule.action, `tenant ${t.name}`, detail, t.id));
      await enqueueAudit(m, auditRecord(p, rule.action, `tenant ${t.name}`, detail));
      return { ...t, ...next };
    });
    this.relay.kick();
    return view(out);
  }

  /** Deletes every row of a deleted tenant, and the tenant itself; audited in the platform admin's tenant. */
  async purge(p: Principal, idOrName: string): Promise<{ tenant: string; deleted: Record<string, number> }> {
    const out = await this.db.tx(async (m) => {
      const t = await this.find(m, idOrName);
      if (t.state !== 'deleted') {
        throw ProblemException.conflict(`tenant ${t.name} is ${t.state}: delete it before purging it`);
      }
      const deleted = await purgeTenantRows(m, t.id);
      // across tenants: the purged tenant's own row goes last
      await m.delete(TenantEntity, { id: t.id });
      await enqueueAudit(m, auditRecord(p, 'tenant.purged', `tenant ${t.name}`, { tenant: t.id, deleted }));
      return { tenant: t.name, deleted };
    });
    this.relay.kick();
    return out;
  }
}
