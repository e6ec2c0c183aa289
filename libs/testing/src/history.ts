import { join } from 'node:path';
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
  await data.insert(RunEntity, runRows);
  await data.insert(TaskRunEntity, taskRows);
  await data.insert(AttemptEntity, attemptRows);
  await data.insert(RunSlaEntity, slaRows);
  return ids;
}
