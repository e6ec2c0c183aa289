import { createHash } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { In, MoreThan, Not } from 'typeorm';
import { type AlertFacts, DEFAULT_AGENT_OFFLINE_AFTER_MS, matchingRules } from '@baton/domain';
import { AgentEntity, AlertDeliveryEntity, AlertRuleEntity, Database, scoped } from '@baton/persistence';
import { LOGGER, type Logger } from '@baton/telemetry';
import { AlarmedDrainer } from '../alarmed-drainer.js';
import { type StoredRule, parseRule } from './alert-config.service.js';
import { AlertIntake } from './alert-intake.service.js';

/**
 * How often agents are looked at: the scheduler writes an agent's
 * disconnection to its row and emits no event, so presence is read (the
 * `agents` table, shared schema), and an alarm waits for the next agent
 * to pass its rule's `agentOfflineAfter`.
 */
export const AGENT_CHECK_MS = 5_000;
/** How far back an offline alert may still get its resolved notice. */
const RESOLVE_WINDOW_MS = 86_400_000;

/** A stable event id for an episode (an agent offline since a time, or its end): the dedupe key's first part. */
const episodeId = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

interface AgentFacts extends AlertFacts {
  agentId?: string;
}

/**
 * agent_offline: an agent of a tenant with such a rule, disconnected for
 * longer than the rule's `agentOfflineAfter` (default 2 minutes), is one
 * alert per disconnection (the episode's id is the agent and the time it
 * was last seen); when it connects again, the channels alerted get a
 * resolved notice. Every replica looks; the dedupe key makes it once.
 */
@Injectable()
export class AgentWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly loop: AlarmedDrainer;

  constructor(
    private readonly db: Database,
    private readonly intake: AlertIntake,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.loop = new AlarmedDrainer(() => this.check(), {
      intervalMs: AGENT_CHECK_MS,
      log: logger.child('alerts'),
      failure: 'agent presence check failed',
    });
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.loop.stop();
  }

  /** Looks at the agents of every tenant with an agent_offline rule; answers when the next one is due. */
  async check(now = Date.now()): Promise<number | null> {
    // across tenants: which tenants watch their agents at all (a handful of rules)
    const rules = await this.db.manager.find(AlertRuleEntity, { where: { enabled: true } });
    const byTenant = new Map<string, StoredRule[]>();
    for (const r of rules) {
      const p = parseRule(r);
      if (!p.events.includes('agent_offline')) continue;
      byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), p]);
    }
    let next: number | null = null;
    for (const [tenantId, watching] of byTenant) {
      const due = await this.checkTenant(tenantId, watching, now);
      if (due !== null) next = next === null ? due : Math.min(next, due);
    }
    return next;
  }

  /** One tenant: alerts for agents offline long enough, resolved notices for those back; returns the next due time. */
  private async checkTenant(tenantId: string, watching: StoredRule[], now: number): Promise<number | null> {
    const fired = matchingRules(
      watching.map((r) => ({ ...r, jobs: [] as string[] })),
      'agent_offline',
      null,
    );
    return this.db.tx(async (m) => {
      const data = scoped(m, { tenantId });
      const agents = await data.find(AgentEntity, {
        select: { id: true, name: true, status: true, lastSeenAt: true, connectedAt: true },
      });
      let next: number | null = null;
      for (const a of agents) {
        if (a.status !== 'disconnected' || a.lastSeenAt === null) continue;
        for (const rule of fired) {
          const at = a.lastSeenAt + (rule.agentOfflineAfterMs ?? DEFAULT_AGENT_OFFLINE_AFTER_MS);
          if (at > now) {
            next = next === null ? at : Math.min(next, at);
            continue;
          }
          const facts: AgentFacts = {
            event: 'agent_offline',
            resolved: false,
            jobName: null,
            runId: null,
            taskKey: null,
            logicalDate: null,
            reason: `no connection since ${new Date(a.lastSeenAt).toISOString()}`,
            finishBy: null,
            predictedP90: null,
            keyTask: null,
            agent: a.name,
            agentId: a.id,
          };
          await this.intake.record(m, tenantId, episodeId(`offline:${a.id}:${a.lastSeenAt}`), facts, [rule], () =>
            Promise.resolve([]),
          );
        }
      }
      // Back online: a resolved notice to each channel an offline alert of this agent went to.
      const connected = new Map(agents.filter((a) => a.status === 'connected').map((a) => [a.id, a]));
      if (connected.size === 0) return next;
      const open = await data.find(AlertDeliveryEntity, {
        where: {
          event: 'agent_offline',
          resolved: false,
          state: Not('suppressed'),
          createdAt: MoreThan(now - RESOLVE_WINDOW_MS),
          ruleName: In(fired.map((r) => r.name)),
        },
      });
      for (const d of open) {
        const facts = JSON.parse(d.facts) as AgentFacts;
        const agent = facts.agentId ? connected.get(facts.agentId) : undefined;
        if (!agent || (agent.connectedAt ?? 0) < d.createdAt) continue;
        const rule = fired.find((r) => r.name === d.ruleName);
        if (!rule) continue;
        const resolved: AgentFacts = { ...facts, resolved: true, reason: 'the agent is connected again' };
        await this.intake.record(m, tenantId, episodeId(`online:${d.eventId}`), resolved, [rule], () =>
          Promise.resolve([d.channelName]),
        );
      }
      return next;
    });
  }
}
