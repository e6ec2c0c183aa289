import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Database } from '@baton/persistence';
import { batonMetrics } from '@baton/telemetry';

const DAY_MS = 86_400_000;

/** SLA states on `/metrics`, read from `run_slas` when Prometheus scrapes (any insight replica reports the same). */
@Injectable()
export class SlaGauges implements OnModuleInit, OnModuleDestroy {
  private stop: (() => void) | null = null;

  constructor(private readonly db: Database) {}

  onModuleInit(): void {
    const metrics = batonMetrics();
    this.stop = metrics.gauges(
      {
        baton_sla_runs:
          'Runs of jobs with an SLA by tenant and state: pending and at_risk now; met and missed with a logical date in the last 24 h',
      },
      async (observe) => {
        // across tenants: platform totals (the tenant label is capped)
        const rows = (await this.db.manager.query(
          "SELECT tenant_id, state, COUNT(*) AS n FROM run_slas WHERE state IN ('pending', 'at_risk') OR logical_date >= ? GROUP BY tenant_id, state",
          [Date.now() - DAY_MS],
        )) as Array<{ tenant_id: string; state: string; n: number | string }>;
        const sums = new Map<string, { tenant: string; state: string; n: number }>();
        for (const r of rows) {
          const tenant = metrics.tenantLabel(r.tenant_id);
          const k = `${tenant}|${r.state}`;
          const s = sums.get(k) ?? { tenant, state: r.state, n: 0 };
          s.n += Number(r.n);
          sums.set(k, s);
        }
        for (const s of sums.values()) observe('baton_sla_runs', s.n, { tenant: s.tenant, state: s.state });
      },
    );
  }

  onModuleDestroy(): void {
    this.stop?.();
  }
}
