import { Inject, Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { type SecretBox, channelSecretAad, secretsBox } from '@baton/auth';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import {
  type AlertChannelInput,
  type AlertEvent,
  type AlertRuleInput,
  DEFAULT_AGENT_OFFLINE_AFTER_MS,
  parseDuration,
} from '@baton/domain';
import { ProblemException } from '@baton/http';
import {
  AlertChannelEntity,
  AlertRuleEntity,
  Database,
  type TenantScope,
  isUniqueViolation,
  newId,
  scoped,
} from '@baton/persistence';
import { channelUrlRefusal } from './url-guard.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** What the API shows of a channel: never its secret. */
export function channelView(c: AlertChannelEntity) {
  return {
    name: c.name,
    type: c.type,
    url: c.url,
    to: c.recipients ? (JSON.parse(c.recipients) as string[]) : null,
    hasSecret: c.secretSealed !== null,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

/** A rule as stored, parsed. */
export interface StoredRule {
  name: string;
  events: AlertEvent[];
  jobs: string[];
  channels: string[];
  throttleMs: number;
  agentOfflineAfterMs: number | null;
  enabled: boolean;
}

export function parseRule(r: AlertRuleEntity): StoredRule {
  return {
    name: r.name,
    events: JSON.parse(r.events) as AlertEvent[],
    jobs: JSON.parse(r.jobs) as string[],
    channels: JSON.parse(r.channels) as string[],
    throttleMs: r.throttleMs,
    agentOfflineAfterMs: r.agentOfflineAfterMs,
    enabled: r.enabled,
  };
}

export function ruleView(r: AlertRuleEntity) {
  const p = parseRule(r);
  return {
    name: p.name,
    events: p.events,
    jobs: p.jobs,
    channels: p.channels,
    throttleMs: p.throttleMs,
    ...(p.events.includes('agent_offline')
      ? { agentOfflineAfterMs: p.agentOfflineAfterMs ?? DEFAULT_AGENT_OFFLINE_AFTER_MS }
      : {}),
    enabled: p.enabled,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

/**
 * A tenant's alert channels and rules. A webhook's signing secret is sealed
 * with the tenants' secrets key (BATON_SECRETS_KEY) and only the sender opens
 * it; `baton secrets rotate-key` seals it again under a new key. An email
 * channel is refused while no SMTP server is configured.
 */
@Injectable()
export class AlertConfigService {
  readonly box: SecretBox;

  constructor(
    private readonly db: Database,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {
    this.box = secretsBox(config);
  }

  async listChannels(scope: TenantScope) {
    const rows = await scoped(this.db.manager, scope).find(AlertChannelEntity, { order: { name: 'ASC' } });
    return rows.map(channelView);
  }

  async getChannel(scope: TenantScope, name: string) {
    const row = await scoped(this.db.manager, scope).findOne(AlertChannelEntity, { where: { name } });
    if (!row) throw ProblemException.notFound(`alert channel ${name}`);
    return channelView(row);
  }

  /** Creates or replaces a channel; answers whether it was created. */
  async putChannel(scope: TenantScope, name: string, c: AlertChannelInput) {
    if (c.type === 'email' && !this.config.smtp) {
      throw ProblemException.invalidField(
        'type',
        'email channels need an SMTP server: set BATON_SMTP_URL (and BATON_SMTP_FROM) on the insight service',
      );
    }
    const refusal = c.url === undefined ? null : channelUrlRefusal(c.url, this.config.alerts.allowPrivateUrls);
    if (refusal !== null) throw ProblemException.invalidField('url', refusal);
    const now = Date.now();
    const patch = {
      type: c.type,
      url: c.url ?? null,
      recipients: c.to ? JSON.stringify(c.to) : null,
      secretSealed: c.secret ? this.box.seal(c.secret, channelSecretAad(scope.tenantId, name)).text : null,
      updatedAt: now,
    };
    return this.upsert(scope, AlertChannelEntity, name, patch, now, channelView);
  }

  async deleteChannel(scope: TenantScope, name: string) {
    return this.db.tx(async (m) => {
      const data = scoped(m, scope);
      const row = await data.findOne(AlertChannelEntity, { where: { name } });
      if (!row) throw ProblemException.notFound(`alert channel ${name}`);
      const users = (await data.find(AlertRuleEntity, {})).filter((r) => parseRule(r).channels.includes(name));
      if (users.length > 0) {
        throw ProblemException.conflict(
          `alert channel ${name} is used by rule(s) ${users.map((r) => r.name).join(', ')}: change them first`,
        );
      }
      await data.delete(AlertChannelEntity, { id: row.id });
      return channelView(row);
    });
  }

  async listRules(scope: TenantScope) {
    const rows = await scoped(this.db.manager, scope).find(AlertRuleEntity, { order: { name: 'ASC' } });
    return rows.map(ruleView);
  }

  async getRule(scope: TenantScope, name: string) {
    const row = await scoped(this.db.manager, scope).findOne(AlertRuleEntity, { where: { name } });
    if (!row) throw ProblemException.notFound(`alert rule ${name}`);
    return ruleView(row);
  }

  async putRule(scope: TenantScope, name: string, r: AlertRuleInput) {
    const known = await scoped(this.db.manager, scope).find(AlertChannelEntity, {
      where: { name: In(r.channels) },
      select: { name: true },
    });
    const missing = r.channels.findIndex((c) => !known.some((k) => k.name === c));
    if (missing >= 0) {
      throw ProblemException.invalidField(`channels[${missing}]`, `no alert channel ${r.channels[missing]!} exists`);
    }
    const now = Date.now();
    const patch = {
      events: JSON.stringify([...new Set(r.events)]),
      jobs: JSON.stringify([...new Set(r.jobs)]),
      channels: JSON.stringify([...new Set(r.channels)]),
      throttleMs: r.throttle === undefined ? 0 : parseDuration(r.throttle)!,
      agentOfflineAfterMs: r.agentOfflineAfter === undefined ? null : parseDuration(r.agentOfflineAfter)!,
      enabled: r.enabled,
      updatedAt: now,
    };
    return this.upsert(scope, AlertRuleEntity, name, patch, now, ruleView);
  }

  async deleteRule(scope: TenantScope, name: string) {
    return this.db.tx(async (m) => {
      const row = await scoped(m, scope).findOne(AlertRuleEntity, { where: { name } });
      if (!row) throw ProblemException.notFound(`alert rule ${name}`);
      await scoped(m, scope).delete(AlertRuleEntity, { id: row.id });
      return ruleView(row);
    });
  }

  /** Replaces the named row's fields, or inserts it; two first writes at once: the loser replaces the winner. */
  private async upsert<E extends AlertChannelEntity | AlertRuleEntity, V>(
    scope: TenantScope,
    entity: new () => E,
    name: string,
    patch: Partial<E>,
    now: number,
    view: (row: E) => V,
  ): Promise<{ created: boolean; view: V }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.tx(async (m) => {
          const data = scoped(m, scope);
          const existing = await data.findOne(entity, { where: { name } as never });
          if (existing) await data.update(entity, { id: existing.id } as never, patch as never);
          else {
            await data.insert(entity, {
              id: newId(now),
              tenantId: scope.tenantId,
              name,
              createdAt: now,
              ...patch,
            } as never);
          }
          const row = await data.findOneOrFail(entity, { where: { name } as never });
          return { created: !existing, view: view(row) };
        });
      } catch (err) {
        if (!isUniqueViolation(err) || attempt > 0) throw err;
      }
    }
  }
}
