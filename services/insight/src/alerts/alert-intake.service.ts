import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { In, IsNull, MoreThan, Not } from 'typeorm';
import {
  type AlertFacts,
  type AlertSignal,
  deliveryDedupeKey,
  isThrottled,
  alertSignalOf,
  matchingRules,
} from '@baton/domain';
import {
  AlertDeliveryEntity,
  AlertRuleEntity,
  Database,
  RunEntity,
  TaskRunEntity,
  newId,
  scoped,
} from '@baton/persistence';
import { type BusEvent, EVENT_BUS, type EventBus, topic } from '@baton/bus';
import { LOGGER, type Logger } from '@baton/telemetry';
import { type StoredRule, parseRule } from './alert-config.service.js';
import { AlertSender } from './alert-sender.service.js';

const CONSUMER = 'insight.alerts';

interface EventPayload {
  tenantId?: string;
  runId?: string;
  jobName?: string;
  logicalDate?: number;
  state?: string;
  from?: string;
  taskKey?: string;
  error?: string | null;
  reason?: string | null;
  finishBy?: number | null;
  predictedP90?: number | null;
  keyTask?: string | null;
}

const clip = (s: string | null, n: number) => (s === null ? null : s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * Turns run, task and SLA events into deliveries: each (event, rule, channel)
 * is one `alert_deliveries` row under a UNIQUE dedupe key, inserted with
 * INSERT IGNORE in the transaction that consumes the event, so an event
 * delivered twice (a redelivery, a rebalance between replicas) is one alert.
 * The sender is woken after commit.
 */
@Injectable()
export class AlertIntake implements OnModuleInit {
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly sender: AlertSender,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('alerts');
  }

  /**
   * Subscribes before any module's bootstrap: in one process (standalone) the
   * trigger's catch-up at start publishes at once, and the in-process bus
   * hands an event only to the groups subscribed by then.
   */
  async onModuleInit(): Promise<void> {
    // One consumer group per topic: kafkajs assigns a group's partitions as if every member read every topic.
    for (const name of ['run-events', 'task-events', 'sla-events'] as const) {
      await this.bus.subscribe(topic(name), `${CONSUMER}.${name}`, (e) => this.consume(e));
    }
  }

  /** Records the deliveries an event causes (none when no rule matches); idempotent per event. */
  async consume(e: BusEvent): Promise<void> {
    const p = (e.payload ?? {}) as EventPayload;
    const signal = alertSignalOf(e.type, p);
    if (!signal || !p.tenantId) return;
    const tenantId = p.tenantId;
    const n = await this.db.tx(async (m) => {
      const rules = (await scoped(m, { tenantId }).find(AlertRuleEntity, {})).map(parseRule);
      const fired = matchingRules(rules, signal.event, p.jobName ?? null);
      if (fired.length === 0) return 0;
      const facts = await this.facts(m, tenantId, signal, p);
      // A resolved notice goes where the alert of the same run it resolves went, and only there.
      const alertedBefore = async (rule: StoredRule) => {
        if (!p.runId) return [];
        const rows = await scoped(m, { tenantId }).find(AlertDeliveryEntity, {
          where: {
            runId: p.runId,
            ruleName: rule.name,
            event: signal.event,
            resolved: false,
            state: Not('suppressed'),
          },
          select: { channelName: true },
        });
        return rows.map((r) => r.channelName);
      };
      return this.record(m, tenantId, e.id, facts, fired, alertedBefore);
    });
    if (n > 0) this.log.info('alerts recorded', { event: e.type, eventId: e.id, runId: p.runId, deliveries: n });
  }

  /**
   * Offers, in the caller's transaction, one delivery per (rule, channel) of
   * event `eventId`: suppressed when the rule's throttle holds it back; for a
   * resolved notice, only to the channels `alertedBefore` names. Rows already
   * there (the same event seen before) are left as they are. Returns how many
   * were offered; the sender is woken after commit.
   */
  async record(
    m: EntityManager,
    tenantId: string,
    eventId: string,
    facts: AlertFacts,
    fired: readonly StoredRule[],
    alertedBefore: (rule: StoredRule) => Promise<string[]>,
  ): Promise<number> {
    const data = scoped(m, { tenantId });
    const now = Date.now();
    const rows = [];
    for (const rule of fired) {
      let channels = rule.channels;
      let state = 'pending';
      if (facts.resolved) {
        const before = await alertedBefore(rule);
        channels = channels.filter((c) => before.includes(c));
      } else if (rule.throttleMs > 0) {
        const last = await data.findOne(AlertDeliveryEntity, {
          where: {
            ruleName: rule.name,
            jobName: facts.jobName === null ? IsNull() : facts.jobName,
            resolved: false,
            state: In(['pending', 'sent', 'failed']),
            createdAt: MoreThan(now - rule.throttleMs),
          },
          order: { createdAt: 'DESC' },
          select: { createdAt: true },
        });
        if (isThrottled(last?.createdAt ?? null, rule.throttleMs, now)) state = 'suppressed';
      }
      for (const channel of channels) {
        rows.push({
          id: newId(now),
          tenantId,
          dedupeKey: deliveryDedupeKey(eventId, rule.name, channel),
          eventId,
          event: facts.event,
          resolved: facts.resolved,
          ruleName: rule.name,
          channelName: channel,
          jobName: facts.jobName,
          runId: facts.runId,
          taskKey: facts.taskKey,
          reason: clip(facts.reason, 500),
          facts: JSON.stringify(facts),
          state,
          attempts: 0,
          lastError: null,
          nextAttemptAt: state === 'pending' ? now : null,
          sentAt: null,
          createdAt: now,
          updatedAt: now,
        });
      }
    }
    if (rows.length === 0) return 0;
    await data.insertIgnore(AlertDeliveryEntity, rows);
    this.db.afterCommit(m, () => this.sender.wake());
    return rows.length;
  }

  /** What the message says: from the event, completed from the run (its logical date, the task that failed). */
  private async facts(m: EntityManager, tenantId: string, s: AlertSignal, p: EventPayload): Promise<AlertFacts> {
    const facts: AlertFacts = {
      event: s.event,
      resolved: s.resolves,
      jobName: p.jobName ?? null,
      runId: p.runId ?? null,
      taskKey: p.taskKey ?? null,
      logicalDate: p.logicalDate ?? null,
      reason: p.reason ?? p.error ?? null,
      finishBy: p.finishBy ?? null,
      predictedP90: p.predictedP90 ?? null,
      keyTask: p.keyTask ?? null,
    };
    if (s.resolves && s.event === 'sla_at_risk') facts.reason = 'the run met its SLA';
    if (s.event === 'task_lost' && !facts.reason) facts.reason = 'the agent running it went away';
    if (s.event !== 'run_failed' || !p.runId) return facts;
    // Which task failed the run, and why: the scheduler's tables (shared schema).
    const data = scoped(m, { tenantId });
    const run = await data.findOne(RunEntity, { where: { id: p.runId }, select: { id: true, logicalDate: true } });
    if (run) facts.logicalDate = run.logicalDate;
    const first = await data.findOne(TaskRunEntity, {
      where: { runId: p.runId, state: In(['failed', 'timed_out', 'lost']) },
      select: { taskKey: true, state: true, error: true, finishedAt: true },
      order: { finishedAt: 'ASC' },
    });
    if (first) {
      facts.taskKey = first.taskKey;
      facts.reason = `task ${first.taskKey} ${first.state}${first.error ? `: ${first.error}` : ''}`;
    } else facts.reason = 'the run failed';
    return facts;
  }
}
