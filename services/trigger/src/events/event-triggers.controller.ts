import { Controller, Get, Inject, Param } from '@nestjs/common';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { EVENT_TRIGGER_TYPES } from '@baton/domain';
import { Database, JobEntity, TriggerEntity, scoped } from '@baton/persistence';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ProblemException } from '@baton/http';
import { triggerSpec } from '../time/trigger-spec.js';
import { KafkaEventTriggersService } from './kafka-event-triggers.service.js';
import { WebhooksService } from './webhooks.service.js';

/** The state of a job's triggers as the trigger service sees it: webhook URLs, whether event triggers receive records. */
@Controller('api/v1/jobs')
export class EventTriggersController {
  constructor(
    private readonly db: Database,
    private readonly webhooks: WebhooksService,
    private readonly events: KafkaEventTriggersService,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  @Get(':name/triggers')
  @Requires('read', 'Job')
  async list(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    const job = await scoped(this.db.manager, p).findOne(JobEntity, { where: { name } });
    if (!job) throw ProblemException.notFound(`job ${name}`);
    const rows = await scoped(this.db.manager, p).find(TriggerEntity, {
      where: { jobId: job.id },
      order: { position: 'ASC' },
    });
    const withSecret = await this.webhooks.hasSecret(
      p,
      rows.filter((t) => t.type === 'webhook').map((t) => t.id),
    );
    return {
      items: rows.map((t) => {
        const spec = triggerSpec(t.type, t.spec, t.enabled);
        const base = {
          index: t.position,
          id: t.id,
          type: t.type,
          enabled: t.enabled,
          nextFireAt: t.nextFireAt === null ? null : new Date(t.nextFireAt).toISOString(),
          lastFireAt: t.lastFireAt === null ? null : new Date(t.lastFireAt).toISOString(),
        };
        switch (spec.type) {
          case 'webhook':
            return {
              ...base,
              active: t.enabled,
              reason: t.enabled ? null : 'disabled',
              webhook: { url: `${this.config.http.publicUrl}/hooks/${t.id}`, hasSecret: withSecret.has(t.id) },
            };
          case 'event':
            return { ...base, ...this.events.status(t), topic: spec.topic };
          case 'dependency':
            return { ...base, active: t.enabled, reason: t.enabled ? null : 'disabled', jobs: spec.jobs };
          case 'file':
            return {
              ...base,
              active: t.enabled,
              reason: t.enabled ? null : 'disabled',
              path: spec.path,
              agentSelector: spec.agentSelector,
            };
          case 'cron':
          case 'fixedRate':
          case 'fixedDelay':
          case 'once':
            return { ...base, active: t.enabled, reason: t.enabled ? null : 'disabled' };
          default: {
            const unknown: never = spec;
            throw new Error(`unknown trigger ${JSON.stringify(unknown)}`);
          }
        }
      }),
      eventTriggerTypes: EVENT_TRIGGER_TYPES,
    };
  }
}
