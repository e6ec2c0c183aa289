import { Controller, Get } from '@nestjs/common';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { AgentEntity, AttemptEntity, Database } from '@baton/persistence';

@Controller('api/v1/agents')
export class AgentsController {
  constructor(private readonly db: Database) {}

  @Get()
  @Requires('read', 'Agent')
  async list(@CurrentPrincipal() p: Principal) {
    const agents = await this.db.manager.find(AgentEntity, { where: { tenantId: p.tenantId }, order: { name: 'ASC' } });
    const busy = await this.db.manager
      .createQueryBuilder(AttemptEntity, 'a')
      .select('a.agent_id', 'agentId')
      .addSelect('COUNT(*)', 'n')
      .where('a.tenant_id = :t', { t: p.tenantId })
      .andWhere('a.state IN (:...s)', { s: ['assigned', 'running'] })
      .groupBy('a.agent_id')
      .getRawMany<{ agentId: string; n: string | number }>();
    const running = new Map(busy.map((b) => [b.agentId, Number(b.n)]));
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      items: agents.map((a) => ({
        id: a.id,
        name: a.name,
        status: a.status,
        labels: a.labels,
        slots: a.slots,
        running: running.get(a.id) ?? 0,
        cpuMillis: a.cpuMillis,
        memoryMb: a.memoryMb,
        version: a.version,
        connectedAt: iso(a.connectedAt),
        lastSeenAt: iso(a.lastSeenAt),
      })),
    };
  }
}
