import { join } from 'node:path';
import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import {
  AttemptEntity,
  Database,
  JobEntity,
  RunEntity,
  RunSlaEntity,
  type ScopedRow,
  TaskRunEntity,
  newId,
  scoped,
} from '@baton/persistence';

/**
 * Run history written straight into the database, for the tests and the
 * benchmark of the reports: a month of runs takes seconds this way, where
 * running them would take the month. The rows are finished history (inserts,
 * never state changes), shaped as the scheduler and the SLA tracker leave them.
 */

/** A finished (or running) run of the past. */
export interface PastRunSeed {
  job: string;
  logicalDate: number;
  state: 'succeeded' | 'failed' | 'cancelled' | 'running' | 'queued';
  /** Start minus logical date; null: never started. */
  delayMs: number | null;
  /** Start to end; null: not finished. */
  runtimeMs: number | null;
  /** Its tasks and how many attempts each took (default: a finished run has one task `main` of one attempt). */
  tasks?: Array<{ key: string; attempts: number }>;
  sla?: {
    state: 'pending' | 'at_risk' | 'met' | 'missed';
    finishBy: number | null;
    predictedP90?: number | null;
    keyTask?: string | null;
    reason?: string | null;
  };
}

/** The database a platform started by startPlatform uses: its SQLite file, or the given URL. */
export function openPlatformDatabase(target: { databaseUrl: string | null; dataDir: string }): Promise<Database> {
  return Database.open(
    target.databaseUrl
      ? { kind: 'mysql', url: target.databaseUrl }
      : { kind: 'sqlite', path: join(target.dataDir, 'baton.db') },
    { migrate: false, poolSize: 2 },
  );
}

/** Writes `runs` of the tenant's jobs (which must exist); returns the run ids in order. */
export async function seedRunHistory(db: Database, tenantId: string, runs: readonly PastRunSeed[]): Promise<string[]> {
  const data = scoped(db.manager, { tenantId });
  const jobs = new Map<string, JobEntity>();
  for (const name of new Set(runs.map((r) => r.job))) {
    jobs.set(name, await data.findOneOrFail(JobEntity, { where: { name } }));
  }
  const versionIds = new Map<string, string>();
  const ids: string[] = [];
  const runRows: Array<ScopedRow<RunEntity>> = [];
  const taskRows: Array<ScopedRow<TaskRunEntity>> = [];
  const attemptRows: Array<ScopedRow<AttemptEntity>> = [];
  const slaRows: Array<ScopedRow<RunSlaEntity>> = [];
  for (const r of runs) {
    const job = jobs.get(r.job)!;
    if (!versionIds.has(job.id)) versionIds.set(job.id, newId());
    const id = newId(r.logicalDate);
    ids.push(id);
    const startedAt = r.delayMs === null ? null : r.logicalDate + r.delayMs;
    const finishedAt = startedAt === null || r.runtimeMs === null ? null : startedAt + r.runtimeMs;
    runRows.push({
      id,
      tenantId,
      jobId: job.id,
      jobName: r.job,
      jobVersion: job.currentVersion,
      jobVersionId: versionIds.get(job.id)!,
      state: r.state,
      logicalDate: r.logicalDate,
      params: {},
      dedupeKey: `seed:${id}`,
      triggerType: 'manual',
      triggerId: null,
      createdAt: r.logicalDate,
      startedAt,
      finishedAt,
      backfillId: null,
      parentRunId: null,
      traceparent: null,
    });
    const finished = r.state === 'succeeded' || r.state === 'failed' || r.state === 'cancelled';
    for (const t of r.tasks ?? (finished ? [{ key: 'main', attempts: 1 }] : [])) {
      const taskRunId = newId(r.logicalDate);
      const ended = finishedAt ?? startedAt ?? r.logicalDate;
      taskRows.push({
        id: taskRunId,
        tenantId,
        runId: id,
        taskKey: t.key,
        state: r.state === 'succeeded' ? 'succeeded' : r.state === 'failed' ? 'failed' : 'pending',
        priority: 0,
        readyAt: r.logicalDate,
        attemptsUsed: t.attempts,
        currentAttemptId: null,
        exitCode: null,
        output: null,
        error: null,
        startedAt,
        finishedAt,
        updatedAt: ended,
        pool: null,
        poolSlots: 1,
      });
      for (let n = 1; n <= t.attempts; n++) {
        const last = n === t.attempts;
        attemptRows.push({
          id: newId(r.logicalDate),
          tenantId,
          runId: id,
          taskRunId,
          taskKey: t.key,
          number: n,
          state: !last || r.state === 'failed' ? 'failed' : 'succeeded',
          agentId: 'seed-agent',
          sessionId: 'seed-session',
          expiresAt: null,
          assignedAt: startedAt ?? r.logicalDate,
          startedAt,
          finishedAt: ended,
          exitCode: last && r.state === 'succeeded' ? 0 : 1,
          error: null,
          logBytes: 0,
          logSeq: -1,
          deadlineAt: null,
          kind: 'main',
          lateResult: null,
        });
      }
    }
    if (r.sla) {
      const decided = r.sla.state === 'met' || r.sla.state === 'missed';
      slaRows.push({
        runId: id,
        tenantId,
        jobName: r.job,
        logicalDate: r.logicalDate,
        state: r.sla.state,
        startBy: null,
        finishBy: r.sla.finishBy,
        warnAt: r.sla.finishBy,
        predictedP50: r.sla.predictedP90 ?? null,
        predictedP90: r.sla.predictedP90 ?? null,
        keyTask: r.sla.keyTask ?? null,
        criticalPath: r.sla.keyTask ? JSON.stringify([r.sla.keyTask]) : null,
        reason: r.sla.reason ?? null,
        taskBreaches: null,
        atRiskAt: r.sla.state === 'at_risk' ? r.logicalDate : null,
        decidedAt: decided ? (finishedAt ?? r.sla.finishBy) : null,
        // Decided rows leave the evaluator's path; open ones are far in the future so it never takes them.
        nextCheckAt: decided ? null : r.logicalDate + 365 * 86_400_000,
        createdAt: r.logicalDate,
        updatedAt: finishedAt ?? r.logicalDate,
      });
    }
  }
  // Every row carries `tenantId` (built above), written in bulk in one transaction.
  await db.manager.transaction(async (m) => {
    await bulkInsert(m, db.dialect, RunEntity, runRows);
    await bulkInsert(m, db.dialect, TaskRunEntity, taskRows);
    await bulkInsert(m, db.dialect, AttemptEntity, attemptRows);
    await bulkInsert(m, db.dialect, RunSlaEntity, slaRows);
  });
  return ids;
}

/** Bound parameters per statement: below MySQL's 65,535 and SQLite's 32,766 (its default since 3.32). */
const MAX_PARAMS = { mysql: 65_000, sqlite: 32_000 } as const;

/**
 * Multi-row INSERTs of thousands of rows each (as many as the dialect's
 * parameter limit allows), in plain SQL: TypeORM's insert builds its
 * statements row by row and took most of a million-attempt seed's time.
 * The columns are the first row's (the rows of a seed are uniform; columns
 * left out take their defaults); values go through the column's transformer
 * and the driver as TypeORM's own insert would send them.
 */
export async function bulkInsert<E extends ObjectLiteral>(
  m: EntityManager,
  dialect: 'mysql' | 'sqlite',
  entity: EntityTarget<E>,
  rows: readonly object[],
): Promise<void> {
  if (rows.length === 0) return;
  const meta = m.connection.getMetadata(entity);
  const driver = m.connection.driver;
  const first = rows[0] as Record<string, unknown>;
  const columns = meta.columns.filter((c) => first[c.propertyName] !== undefined);
  const head = `INSERT INTO ${driver.escape(meta.tableName)} (${columns.map((c) => driver.escape(c.databaseName)).join(', ')}) VALUES `;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS[dialect] / columns.length));
  for (let i = 0; i < rows.length; i += perStatement) {
    const part = rows.slice(i, i + perStatement) as Array<Record<string, unknown>>;
    const params: unknown[] = [];
    for (const row of part) {
      for (const c of columns) params.push(driver.preparePersistentValue(row[c.propertyName] ?? null, c));
    }
    await m.query(head + part.map(() => tuple).join(', '), params);
  }
}
