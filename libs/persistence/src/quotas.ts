import { type EntityManager, In, MoreThanOrEqual } from 'typeorm';
import { DAY_MS, NO_QUOTAS, type QuotaLimits, splitByDay, takeTokens } from '@baton/domain';
import type { Database } from './database.js';
import { AgentEntity, AttemptEntity, JobEntity, RunEntity, TaskRunEntity } from './entities/index.js';
import { TenantQuotaEntity, TenantUsageDailyEntity } from './entities/quota.js';
import { forUpdate } from './claims.js';
import { type TenantScope, scoped } from './scope.js';

/** A tenant's limits from its quota row (none: nothing limited). */
export function quotaLimits(q: TenantQuotaEntity | null): QuotaLimits {
  if (!q) return NO_QUOTAS;
  return {
    maxJobs: q.maxJobs,
    runsPerMinute: q.runsPerMinute,
    maxConcurrentRuns: q.maxConcurrentRuns,
    maxRunningTasks: q.maxRunningTasks,
    maxCpuMillis: q.maxCpuMillis,
    maxMemoryMb: q.maxMemoryMb,
    maxAgents: q.maxAgents,
    maxBackfillSize: q.maxBackfillSize,
  };
}

export async function readQuota(m: EntityManager, scope: TenantScope): Promise<QuotaLimits> {
  return quotaLimits(await scoped(m, scope).findOne(TenantQuotaEntity, { where: {} }));
}

/** The tenant's limits, with its quota row locked until the transaction ends (checks that count then add). */
export async function lockQuota(db: Database, m: EntityManager, scope: TenantScope): Promise<QuotaLimits> {
  return quotaLimits(await forUpdate(db, scoped(m, scope).query(TenantQuotaEntity, 'q')).getOne());
}

/**
 * Takes up to `wanted` run tokens of the tenant's runs-per-minute bucket in
 * the caller's transaction (the quota row is locked, so concurrent takers
 * count one after another). A tenant without the quota gets all it asks.
 */
export async function takeRunTokens(
  db: Database,
  m: EntityManager,
  scope: TenantScope,
  wanted: number,
  now: number,
): Promise<{ granted: number; retryAfterMs: number; perMinute: number | null }> {
  // A plain read first: only tenants with the quota take the row lock.
  const seen = await scoped(m, scope).findOne(TenantQuotaEntity, {
    where: {},
    select: { tenantId: true, runsPerMinute: true },
  });
  if (!seen || seen.runsPerMinute === null) return { granted: wanted, retryAfterMs: 0, perMinute: null };
  const q = await forUpdate(db, scoped(m, scope).query(TenantQuotaEntity, 'q')).getOne();
  if (!q || q.runsPerMinute === null) return { granted: wanted, retryAfterMs: 0, perMinute: null };
  const bucket =
    q.runBucketMilliTokens === null || q.runBucketAt === null
      ? null
      : { milliTokens: q.runBucketMilliTokens, at: q.runBucketAt };
  const t = takeTokens(bucket, q.runsPerMinute, now, wanted);
  await scoped(m, scope).update(
    TenantQuotaEntity,
    {},
    { runBucketMilliTokens: t.bucket.milliTokens, runBucketAt: t.bucket.at },
  );
  return { granted: t.granted, retryAfterMs: t.retryAfterMs, perMinute: q.runsPerMinute };
}

export interface QuotaUse {
  maxJobs: number;
  maxConcurrentRuns: number;
  maxRunningTasks: number;
  maxCpuMillis: number;
  maxMemoryMb: number;
  maxAgents: number;
  /** Tokens left in the runs-per-minute bucket now (null: not limited). */
  runTokens: number | null;
}

/** What a tenant uses now of each quota; agents count when connected and heard from since `agentsSeenSince`. */
export async function quotaUse(m: EntityManager, scope: TenantScope, agentsSeenSince: number): Promise<QuotaUse> {
  const s = scoped(m, scope);
  const jobs = await s.count(JobEntity);
  const runs = await s.count(RunEntity, { where: { state: 'running' } });
  const tasks = await s.count(TaskRunEntity, { where: { state: In(['assigned', 'running']) } });
  const res = await s
    .query(AttemptEntity, 'a', 'a.state IN (:...live)', { live: ['assigned', 'running'] })
    .select('COALESCE(SUM(a.quota_cpu_millis), 0)', 'cpu')
    .addSelect('COALESCE(SUM(a.quota_memory_mb), 0)', 'mem')
    .getRawOne<{ cpu: string | number; mem: string | number }>();
  const agents = await s.count(AgentEntity, {
    where: { status: 'connected', lastSeenAt: MoreThanOrEqual(agentsSeenSince) },
  });
  const q = await s.findOne(TenantQuotaEntity, { where: {} });
  let runTokens: number | null = null;
  if (q?.runsPerMinute != null) {
    const bucket =
      q.runBucketMilliTokens === null || q.runBucketAt === null
        ? null
        : { milliTokens: q.runBucketMilliTokens, at: q.runBucketAt };
    runTokens = takeTokens(bucket, q.runsPerMinute, Date.now(), 0).bucket.milliTokens / 1000;
  }
  return {
    maxJobs: jobs,
    maxConcurrentRuns: runs,
    maxRunningTasks: tasks,
    maxCpuMillis: Number(res?.cpu ?? 0),
    maxMemoryMb: Number(res?.mem ?? 0),
    maxAgents: agents,
    runTokens,
  };
}

/** Agents of the tenant connected and heard from since `since`, other than the one named. */
export function connectedAgents(m: EntityManager, scope: TenantScope, since: number, except: string): Promise<number> {
  return scoped(m, scope)
    .query(AgentEntity, 'a', "a.status = 'connected' AND a.last_seen_at >= :since AND a.name <> :name", {
      since,
      name: except,
    })
    .getCount();
}

export interface DailyUsage {
  /** The day's first instant, UTC. */
  day: number;
  runsStarted: number;
  runsSucceeded: number;
  runsFailed: number;
  /** Wall time of finished attempts, in seconds. */
  taskSeconds: number;
  /** CPU time (user + system) of the tasks' processes, measured on the agents. */
  cpuSeconds: number;
  agentHours: number;
}

/**
 * A tenant's usage per UTC day in [from, to) (day boundaries): runs by the
 * day they started or finished, attempts by the day they finished, agent time
 * as recorded when sessions ended plus the sessions still open.
 */
export async function usageByDay(m: EntityManager, scope: TenantScope, from: number, to: number, now: number) {
  const s = scoped(m, scope);
  const day = (col: string) => `(${col} - (${col} % ${DAY_MS}))`;
  const out = new Map<number, DailyUsage>();
  const at = (d: number): DailyUsage => {
    let u = out.get(d);
    if (!u) {
      u = { day: d, runsStarted: 0, runsSucceeded: 0, runsFailed: 0, taskSeconds: 0, cpuSeconds: 0, agentHours: 0 };
      out.set(d, u);
    }
    return u;
  };
  const started = await s
    .query(RunEntity, 'r', 'r.started_at >= :from AND r.started_at < :to', { from, to })
    .select(day('r.started_at'), 'day')
    .addSelect('COUNT(*)', 'n')
    .groupBy(day('r.started_at'))
    .getRawMany<{ day: string | number; n: string | number }>();
  for (const r of started) at(Number(r.day)).runsStarted = Number(r.n);
  const finished = await s
    .query(RunEntity, 'r', 'r.finished_at >= :from AND r.finished_at < :to AND r.state IN (:...done)', {
      from,
      to,
      done: ['succeeded', 'failed'],
    })
    .select(day('r.finished_at'), 'day')
    .addSelect('r.state', 'state')
    .addSelect('COUNT(*)', 'n')
    .groupBy(day('r.finished_at'))
    .addGroupBy('r.state')
    .getRawMany<{ day: string | number; state: string; n: string | number }>();
  for (const r of finished) {
    if (r.state === 'succeeded') at(Number(r.day)).runsSucceeded = Number(r.n);
    else at(Number(r.day)).runsFailed = Number(r.n);
  }
  const tasks = await s
    .query(AttemptEntity, 'a', 'a.finished_at >= :from AND a.finished_at < :to AND a.started_at IS NOT NULL', {
      from,
      to,
    })
    .select(day('a.finished_at'), 'day')
    .addSelect('SUM(a.finished_at - a.started_at)', 'ms')
    .groupBy(day('a.finished_at'))
    .getRawMany<{ day: string | number; ms: string | number | null }>();
  for (const r of tasks) at(Number(r.day)).taskSeconds = Number(r.ms ?? 0) / 1000;
  const agents = await s.find(TenantUsageDailyEntity, {
    where: { day: MoreThanOrEqual(from) },
  });
  const agentMs = new Map<number, number>();
  for (const r of agents) {
    if (r.day >= to) continue;
    agentMs.set(r.day, (agentMs.get(r.day) ?? 0) + r.agentMs);
    if (r.cpuMs > 0) at(r.day).cpuSeconds = r.cpuMs / 1000;
  }
  // Sessions still open count up to now while heard from lately (presence is written every few seconds), else
  // up to when they were last heard from: the row of a replica that died with its sessions stops counting.
  for (const a of await s.find(AgentEntity, { where: { status: 'connected' } })) {
    if (a.connectedAt === null) continue;
    const end = a.lastSeenAt === null || now - a.lastSeenAt <= 60_000 ? now : a.lastSeenAt;
    for (const [d, ms] of splitByDay(a.connectedAt, end)) {
      if (d >= from && d < to) agentMs.set(d, (agentMs.get(d) ?? 0) + ms);
    }
  }
  for (const [d, ms] of agentMs) at(d).agentHours = ms / 3_600_000;
  return [...out.values()].sort((x, y) => x.day - y.day);
}

/**
 * Adds CPU time measured on agents to their tenants' daily usage: one
 * statement for a whole flush of results (not one per task).
 */
export async function addCpuTime(
  db: Database,
  m: EntityManager,
  rows: ReadonlyArray<{ tenantId: string; day: number; cpuMs: number }>,
): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map(() => '(?, ?, 0, ?)').join(', ');
  const sql =
    db.dialect === 'mysql'
      ? `INSERT INTO tenant_usage_daily (tenant_id, day, agent_ms, cpu_ms) VALUES ${values} ` +
        'ON DUPLICATE KEY UPDATE cpu_ms = cpu_ms + VALUES(cpu_ms)'
      : `INSERT INTO tenant_usage_daily (tenant_id, day, agent_ms, cpu_ms) VALUES ${values} ` +
        'ON CONFLICT (tenant_id, day) DO UPDATE SET cpu_ms = cpu_ms + excluded.cpu_ms';
  // across tenants: a flush of results carries several tenants' rows, each row its own tenant's
  await m.query(
    sql,
    rows.flatMap((r) => [r.tenantId, r.day, Math.round(r.cpuMs)]),
  );
}

/** Adds an agent session's connected time to the tenant's daily usage (once, when the session ends). */
export async function addAgentTime(
  db: Database,
  m: EntityManager,
  scope: TenantScope,
  start: number,
  end: number,
): Promise<void> {
  for (const [day, ms] of splitByDay(start, end)) {
    const sql =
      db.dialect === 'mysql'
        ? 'INSERT INTO tenant_usage_daily (tenant_id, day, agent_ms) VALUES (?, ?, ?) ' +
          'ON DUPLICATE KEY UPDATE agent_ms = agent_ms + VALUES(agent_ms)'
        : 'INSERT INTO tenant_usage_daily (tenant_id, day, agent_ms) VALUES (?, ?, ?) ' +
          'ON CONFLICT (tenant_id, day) DO UPDATE SET agent_ms = agent_ms + excluded.agent_ms';
    await m.query(sql, [scope.tenantId, day, ms]);
  }
}
