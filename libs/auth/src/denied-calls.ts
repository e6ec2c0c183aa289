import { hostname } from 'node:os';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { type DeniedAggregate, DeniedCallTally } from '@baton/domain';
import { DEFAULT_TENANT_NAME, Database, TenantEntity } from '@baton/persistence';
import { LOGGER, type Logger } from '@baton/telemetry';

/** How often closed minutes are written. */
const FLUSH_EVERY_MS = 5_000;

/** The action of the aggregated record of denied calls. */
export const DENIED_ACTION = 'auth.denied';

/** A refused call as the guard reports it: who (if known), what, and where from. */
export interface DeniedRequest {
  status: number;
  route: string;
  ip: string | null;
  /** The tenant, caller and actor of an authenticated caller; absent for a call without a usable credential. */
  who?: { tenantId: string; caller: string; actor: string };
  /** The credential presented but refused (a key's or session's hash prefix), for a 401. */
  presented?: string;
}

/**
 * Denied calls (401/403) in the audit log, aggregated: one record per
 * caller (API key, session, or source address without a credential), tenant
 * and minute, with the count, the routes seen and the first and last times.
 * A minute's records are written when it closes, and whatever is counted at
 * shutdown; a failed write keeps its counts for the next try. Each replica
 * counts its own calls, so N replicas write up to N records per caller and
 * minute (`detail.replica` tells them apart).
 */
@Injectable()
export class DeniedCallsRecorder implements OnApplicationShutdown {
  private readonly tally = new DeniedCallTally();
  private readonly log: Logger;
  private readonly replica = `${hostname()}:${process.pid}`;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private defaultTenant: string | null = null;

  constructor(
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('audit');
  }

  async record(r: DeniedRequest): Promise<void> {
    const who = r.who ?? (await this.anonymous(r));
    if (!who) return;
    this.tally.add({ ...who, status: r.status, route: r.route.slice(0, 200), at: Date.now() });
    this.timer ??= setInterval(() => void this.flush(false), FLUSH_EVERY_MS).unref();
  }

  /** Writes the closed minutes (every minute with `all`); calls never overlap. */
  flush(all: boolean): Promise<void> {
    this.flushing = this.flushing.then(() => this.write(this.tally.take(Date.now(), all)));
    return this.flushing;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush(true);
  }

  private async write(aggregates: DeniedAggregate[]): Promise<void> {
    if (aggregates.length === 0) return;
    try {
      await this.db.tx(async (m) => {
        for (const a of aggregates) await enqueueAudit(m, this.recordOf(a));
      });
      this.relay.kick();
    } catch (err) {
      this.tally.restore(aggregates);
      this.log.error('denied calls not written: kept for the next try', {
        error: String(err),
        calls: aggregates.reduce((n, a) => n + a.count, 0),
      });
    }
  }

  private recordOf(a: DeniedAggregate) {
    const calls = a.count === 1 ? '1 call' : `${a.count} calls`;
    return {
      tenantId: a.tenantId,
      action: DENIED_ACTION,
      actor: a.actor.slice(0, 200),
      target: `${calls} denied: ${a.routes.join(', ')}${a.otherRoutes > 0 ? ', …' : ''}`.slice(0, 300),
      status: a.status,
      detail: {
        count: a.count,
        routes: a.routes,
        ...(a.otherRoutes > 0 ? { otherRoutes: a.otherRoutes } : {}),
        minute: new Date(a.minute).toISOString(),
        firstAt: new Date(a.firstAt).toISOString(),
        lastAt: new Date(a.lastAt).toISOString(),
        replica: this.replica,
      },
      occurredAt: a.lastAt,
    };
  }

  /** A call without a usable credential is counted by what it presented, or its address, in the default tenant. */
  private async anonymous(r: DeniedRequest): Promise<DeniedRequest['who'] | null> {
    if (this.defaultTenant === null) {
      // across tenants: nobody is known yet, so the platform's default tenant keeps the record
      const t = await this.db.manager.findOne(TenantEntity, { where: { name: DEFAULT_TENANT_NAME } }).catch(() => null);
      if (!t) return null;
      this.defaultTenant = t.id;
    }
    const from = r.ip ?? 'unknown address';
    const caller = r.presented ? `credential:${r.presented}` : `ip:${from}`;
    const actor = r.presented
      ? `unauthenticated:${r.presented} from ${from}`
      : `unauthenticated: no credential from ${from}`;
    return { tenantId: this.defaultTenant, caller, actor };
  }
}
