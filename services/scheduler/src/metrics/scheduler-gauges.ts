import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Database } from '@baton/persistence';
import { batonMetrics } from '@baton/telemetry';
import { AgentDirectory } from '../engine/agents.js';

/**
 * The scheduler's gauges on `/metrics`, read when Prometheus scrapes: from the
 * database (so any replica reports the same platform totals) and from this
 * process's agent connections. Counters and histograms are recorded where
 * things happen (dispatch, results, run creation).
 */
@Injectable()
export class SchedulerGauges implements OnModuleInit, OnModuleDestroy {
  private stop: (() => void) | null = null;

  constructor(
    private readonly db: Database,
    private readonly sessions: AgentDirectory,
  ) {}

  onModuleInit(): void {
    const metrics = batonMetrics();
    this.stop = metrics.gauges(
      {
        baton_tasks: 'Task runs by state (queue depth: queued; in flight: assigned, running)',
        baton_runs: 'Runs by state',
        baton_queue_depth: 'Queued task runs per tenant',
        baton_agents_connected: 'Agents with a stream open (all replicas)',
        baton_agent_sessions: 'Agent streams held by this scheduler process',
        baton_agent_slots: 'Slots of the agents connected to this process: total, and free',
        baton_tenant_info: 'Tenants by id (the tenant label) with their names, for joins in queries',
      },
      async (observe) => {
        const q = (sql: string) => this.db.manager.query(sql) as Promise<Array<Record<string, unknown>>>;
        // across tenants: platform totals for the operator's dashboard
        for (const r of await q('SELECT state, COUNT(*) AS n FROM task_runs GROUP BY state')) {
          observe('baton_tasks', Number(r['n']), { state: String(r['state']) });
        }
        // across tenants: platform totals
        for (const r of await q('SELECT state, COUNT(*) AS n FROM runs GROUP BY state')) {
          observe('baton_runs', Number(r['n']), { state: String(r['state']) });
        }
        // across tenants: the names behind the tenant label; every tenant's queue depth starts at 0
        const depth = new Map<string, number>();
        for (const r of await q('SELECT id, name FROM tenants')) {
          const id = String(r['id']);
          if (metrics.tenantLabel(id) !== id) continue;
          observe('baton_tenant_info', 1, { tenant: id, name: String(r['name']) });
          depth.set(id, 0);
        }
        // across tenants: each tenant's queue, for the dashboard's fairness panel
        for (const r of await q(
          "SELECT tenant_id, COUNT(*) AS n FROM task_runs WHERE state = 'queued' GROUP BY tenant_id",
        )) {
          const tenant = metrics.tenantLabel(String(r['tenant_id']));
          depth.set(tenant, (depth.get(tenant) ?? 0) + Number(r['n']));
        }
        for (const [tenant, n] of depth) observe('baton_queue_depth', n, { tenant });
        // across tenants: platform totals
        const agents = await q("SELECT COUNT(*) AS n FROM agents WHERE status = 'connected'");
        observe('baton_agents_connected', Number(agents[0]?.['n'] ?? 0));
        const links = this.sessions.all();
        observe('baton_agent_sessions', links.length);
        let slots = 0;
        let busy = 0;
        for (const s of links) {
          slots += s.slots;
          busy += Math.min(s.slots, s.inFlight.size);
        }
        observe('baton_agent_slots', slots, { state: 'total' });
        observe('baton_agent_slots', slots - busy, { state: 'free' });
      },
    );
  }

  onModuleDestroy(): void {
    this.stop?.();
  }
}
