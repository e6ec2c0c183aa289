import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '@baton/auth';
import { TIME_TRIGGER_TYPES } from '@baton/domain';
import { Database } from '@baton/persistence';
import { AgentDirectory } from '../engine/agents.js';
import { SchedulerMetrics, labelled } from './metrics.js';

const HELP: Record<string, [type: string, help: string]> = {
  baton_tasks: ['gauge', 'Task runs by state (queue depth: queued; in flight: assigned, running)'],
  baton_runs: ['gauge', 'Runs by state'],
  baton_agents_connected: ['gauge', 'Agents with a stream open (all replicas)'],
  baton_agent_sessions: ['gauge', 'Agent streams held by this scheduler process'],
  baton_schedule_delay_seconds: [
    'gauge',
    'Run created minus its slot, over runs of time triggers (cron, fixedRate, fixedDelay, once) created in the last 5 minutes',
  ],
  baton_attempts_total: ['counter', 'Attempt results applied by this process, by outcome'],
  baton_assigned_total: ['counter', 'Attempts assigned to agents by this process'],
};

/**
 * Prometheus metrics (`GET /metrics`): platform gauges read from the database
 * (so any replica reports the same) and this process's counters. No tenant
 * names or ids are exported.
 */
@Controller()
export class MetricsController {
  constructor(
    private readonly db: Database,
    private readonly sessions: AgentDirectory,
    private readonly metrics: SchedulerMetrics,
  ) {}

  @Get('metrics')
  @Public()
  @Header('content-type', 'text/plain; version=0.0.4')
  async scrape(): Promise<string> {
    const lines: string[] = [];
    const emit = (name: string, samples: Array<[Record<string, string>, number]>) => {
      const [type, help] = HELP[name]!;
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) lines.push(`${labelled(name, labels)} ${v}`);
    };
    const tasks = (await this.db.manager.query('SELECT state, COUNT(*) AS n FROM task_runs GROUP BY state')) as Array<{
      state: string;
      n: number | string;
    }>;
    emit(
      'baton_tasks',
      tasks.map((r) => [{ state: r.state }, Number(r.n)]),
    );
    const runs = (await this.db.manager.query('SELECT state, COUNT(*) AS n FROM runs GROUP BY state')) as Array<{
      state: string;
      n: number | string;
    }>;
    emit(
      'baton_runs',
      runs.map((r) => [{ state: r.state }, Number(r.n)]),
    );
    const agents = (await this.db.manager.query(
      "SELECT COUNT(*) AS n FROM agents WHERE status = 'connected'",
    )) as Array<{ n: number | string }>;
    emit('baton_agents_connected', [[{}, Number(agents[0]?.n ?? 0)]]);
    emit('baton_agent_sessions', [[{}, this.sessions.all().length]]);
    // Only a time trigger's run has a due time (its slot, the logical date): the others carry the logical date
    // of whatever caused them (a backfill's past slot, an upstream's date, an event's), which is no due time.
    const since = Date.now() - 300_000;
    const delays = (
      (await this.db.manager.query(
        `SELECT created_at - logical_date AS d FROM runs WHERE created_at >= ? AND trigger_type IN (${TIME_TRIGGER_TYPES.map(() => '?').join(', ')}) ORDER BY d`,
        [since, ...TIME_TRIGGER_TYPES],
      )) as Array<{ d: number | string }>
    ).map((r) => Number(r.d) / 1000);
    const q = (p: number) => (delays.length ? delays[Math.min(delays.length - 1, Math.floor(p * delays.length))]! : 0);
    emit('baton_schedule_delay_seconds', [
      [{ quantile: '0.5' }, q(0.5)],
      [{ quantile: '0.99' }, q(0.99)],
    ]);
    const byName = new Map<string, Array<[string, number]>>();
    for (const [key, v] of this.metrics.counters) {
      const name = key.split('{')[0]!;
      byName.set(name, [...(byName.get(name) ?? []), [key, v]]);
    }
    for (const name of ['baton_attempts_total', 'baton_assigned_total']) {
      const [type, help] = HELP[name]!;
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [key, v] of byName.get(name) ?? [[name, 0]]) lines.push(`${key} ${v}`);
    }
    return lines.join('\n') + '\n';
  }
}
