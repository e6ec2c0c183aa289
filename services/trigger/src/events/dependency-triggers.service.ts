import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { In } from 'typeorm';
import { dependencyDedupeKey, dependencySatisfied } from '@baton/domain';
import { Database, RunEntity, TriggerEntity, scoped } from '@baton/persistence';
import { EVENT_BUS, type EventBus, OUTBOX_RELAY, type OutboxRelay, consumeOnce, topic } from '@baton/bus';
import { LOGGER, type Logger } from '@baton/telemetry';
import { triggerSpec } from '../time/trigger-spec.js';
import { requestEventRun } from './run-requests.js';

const CONSUMER = 'trigger.dependency';

/**
 * Dependency triggers: job Z runs for logical date D once every job it lists
 * has a succeeded run for D (same tenant). Each upstream success re-checks;
 * the dedupe key `dep:<trigger>:<D>` makes it one run whichever upstream
 * finishes last, and a redelivered `run.finished` is skipped (consumeOnce).
 */
@Injectable()
export class DependencyTriggersService implements OnApplicationBootstrap {
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('dependency-triggers');
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.subscribe(topic('run-events'), CONSUMER, async (e) => {
      if (e.type !== 'run.finished') return;
      const p = e.payload as { tenantId: string; runId: string; jobName: string; state: string };
      if (p.state !== 'succeeded') return;
      // Most successes start nothing: look for a trigger that names the job before paying for a transaction.
      const candidates = await this.candidates(p.tenantId, p.jobName);
      if (candidates.length === 0) return;
      let requested = 0;
      await consumeOnce(this.db, CONSUMER, e, async (m) => {
        const run = await scoped(m, p).findOne(RunEntity, { where: { id: p.runId } });
        if (!run) return;
        for (const { t, spec } of candidates) {
          const done = await scoped(m, p).find(RunEntity, {
            where: { jobName: In(spec.jobs), logicalDate: run.logicalDate, state: 'succeeded' },
            select: { jobName: true, finishedAt: true },
          });
          // The latest success of each upstream job for the date.
          const finished = new Map<string, number>();
          for (const r of done) {
            const at = r.finishedAt ?? 0;
            if ((finished.get(r.jobName) ?? -Infinity) < at) finished.set(r.jobName, at);
          }
          if (!dependencySatisfied(spec.jobs, finished, spec.withinMs)) continue;
          const r = await requestEventRun(this.db, m, t, spec, {
            dedupeKey: dependencyDedupeKey(t.id, run.logicalDate),
            logicalDate: run.logicalDate,
            params: {},
          });
          if (r.requested) {
            requested++;
            this.log.info('dependencies met; run requested', {
              job: t.jobName,
              trigger: t.id,
              logicalDate: new Date(run.logicalDate).toISOString(),
            });
          }
        }
      });
      if (requested > 0) this.relay.kick();
    });
  }

  /** The tenant's enabled dependency triggers that name `jobName` among their upstream jobs. */
  private async candidates(tenantId: string, jobName: string) {
    const rows = await scoped(this.db.manager, { tenantId }).find(TriggerEntity, {
      where: { type: 'dependency', enabled: true },
    });
    return rows.flatMap((t) => {
      const spec = triggerSpec(t.type, t.spec, t.enabled);
      return spec.type === 'dependency' && spec.jobs.includes(jobName) ? [{ t, spec }] : [];
    });
  }
}
