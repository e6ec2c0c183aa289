import { Controller, Get, Inject } from '@nestjs/common';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { presenceHealthy } from '@baton/domain';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { AgentEntity, Database, liveAttemptsByAgent, scoped } from '@baton/persistence';

@Controller('api/v1/agents')
export class AgentsController {
  constructor(
    private readonly db: Database,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  @Get()
  @Requires('read', 'Agent')
  async list(@CurrentPrincipal() p: Principal) {
    const agents = await scoped(this.db.manager, p).find(AgentEntity, { where: {}, order: { name: 'ASC' } });
    const running = await liveAttemptsByAgent(this.db.manager, p);
    const now = Date.now();
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      items: agents.map((a) => ({
        id: a.id,
        name: a.name,
        status: a.status,
        // A connected agent that stopped heartbeating gets no new work until it speaks again.
        healthy:
          a.status === 'connected' && presenceHealthy(a.lastSeenAt, now, this.config.scheduler.heartbeatIntervalMs),
        labels: a.labels,
        slots: a.slots,
        running: running.get(a.id) ?? 0,
        cpuMillis: a.cpuMillis,
        memoryMb: a.memoryMb,
        version: a.version,
        connectedAt: iso(a.connectedAt),
        lastSeenAt: iso(a.lastSeenAt),
        // The agent token the name is bound to: revoking it releases the name (docs/security.md, Agents).
        tokenId: a.tokenId,
      })),
    };
  }
}
