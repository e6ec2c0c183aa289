import { Inject, Injectable } from '@nestjs/common';
import { AgentTokenEntity, Database, type TenantScope, newId, scoped } from '@baton/persistence';
import { issueToken } from '@baton/auth';
import { OUTBOX_RELAY, type OutboxRelay, enqueueEvent, topic } from '@baton/bus';
import { ProblemException } from '@baton/http';

export interface AgentTokenView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

const view = (t: AgentTokenEntity): AgentTokenView => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  createdAt: new Date(t.createdAt).toISOString(),
  revokedAt: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString(),
});

@Injectable()
export class AgentTokensService {
  constructor(
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
  ) {}

  /** Issues a token; the clear text is returned here once and never stored. */
  async create(scope: TenantScope, name: string): Promise<AgentTokenView & { token: string }> {
    const t = issueToken('agt');
    const row: AgentTokenEntity = {
      id: newId(),
      tenantId: scope.tenantId,
      name,
      prefix: t.prefix,
      hash: t.hash,
      createdAt: Date.now(),
      revokedAt: null,
    };
    await this.db.tx(async (m) => {
      await scoped(m, scope).insert(AgentTokenEntity, row);
      await enqueueEvent(m, {
        topic: topic('tenancy-events'),
        type: 'agent-token.created',
        key: scope.tenantId,
        tenantId: scope.tenantId,
        payload: { tokenId: row.id, name },
      });
    });
    this.relay.kick();
    return { ...view(row), token: t.token };
  }

  async list(scope: TenantScope): Promise<AgentTokenView[]> {
    const rows = await scoped(this.db.manager, scope).find(AgentTokenEntity, {
      where: {},
      order: { createdAt: 'DESC' },
    });
    return rows.map(view);
  }

  /** Revokes a token; the scheduler closes the streams that use it at once. */
  async revoke(scope: TenantScope, id: string): Promise<AgentTokenView> {
    const row = await this.db.tx(async (m) => {
      const t = await scoped(m, scope).findOne(AgentTokenEntity, { where: { id } });
      if (!t) throw ProblemException.notFound(`agent token ${id}`);
      if (t.revokedAt === null) {
        t.revokedAt = Date.now();
        await scoped(m, scope).update(AgentTokenEntity, { id: t.id }, { revokedAt: t.revokedAt });
        await enqueueEvent(m, {
          topic: topic('tenancy-events'),
          type: 'agent-token.revoked',
          key: scope.tenantId,
          tenantId: scope.tenantId,
          payload: { tokenId: t.id },
        });
      }
      return t;
    });
    this.relay.kick();
    return view(row);
  }
}
