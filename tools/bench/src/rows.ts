import { Database } from '@baton/persistence';
import type { AttemptRow, RunRow, TaskRow } from './analysis.js';
import type { BenchTarget } from './platform.js';

/** A connection of the bench's own to the scenario's database (SQLite in WAL mode allows a reader beside the platform). */
export function openReader(t: BenchTarget): Promise<Database> {
  return Database.open(t.target, { migrate: false, poolSize: 2 });
}

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export interface RowFilter {
  jobNames: readonly string[];
  /** Only runs whose logical date is in [from, to) (cron runs of a window). */
  logicalFrom?: number;
  logicalTo?: number;
}

function where(f: RowFilter, alias: string): { sql: string; params: unknown[] } {
  const parts = [`${alias}.job_name IN (${f.jobNames.map(() => '?').join(',')})`];
  const params: unknown[] = [...f.jobNames];
  if (f.logicalFrom !== undefined) {
    parts.push(`${alias}.logical_date >= ?`);
    params.push(f.logicalFrom);
  }
  if (f.logicalTo !== undefined) {
    parts.push(`${alias}.logical_date < ?`);
    params.push(f.logicalTo);
  }
  return { sql: parts.join(' AND '), params };
}

/** The runs of some jobs, their tasks and attempts, as stored. */
export async function readRows(
  db: Database,
  f: RowFilter,
): Promise<{ runs: RunRow[]; tasks: TaskRow[]; attempts: AttemptRow[] }> {
  const w = where(f, 'r');
  const runs = (
    (await db.manager.query(
      `SELECT r.id, r.tenant_id, r.job_name, r.state, r.created_at, r.started_at, r.finished_at, r.logical_date FROM runs r WHERE ${w.sql}`,
      w.params,
    )) as Array<Record<string, unknown>>
  ).map((r): RunRow => ({
    id: String(r.id),
    tenantId: String(r.tenant_id),
    jobName: String(r.job_name),
    state: String(r.state),
    createdAt: num(r.created_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    logicalDate: num(r.logical_date),
  }));
  const tasks = (
    (await db.manager.query(
      `SELECT t.id, t.tenant_id, t.run_id, t.task_key, t.state, t.ready_at, t.finished_at
         FROM task_runs t JOIN runs r ON r.id = t.run_id WHERE ${w.sql}`,
      w.params,
    )) as Array<Record<string, unknown>>
  ).map((t): TaskRow => ({
    id: String(t.id),
    tenantId: String(t.tenant_id),
    runId: String(t.run_id),
    key: String(t.task_key),
    state: String(t.state),
    readyAt: numOrNull(t.ready_at),
    finishedAt: numOrNull(t.finished_at),
  }));
  const attempts = (
    (await db.manager.query(
      `SELECT a.task_run_id, a.tenant_id, a.number, a.kind, a.assigned_at, a.finished_at
         FROM attempts a JOIN runs r ON r.id = a.run_id WHERE ${w.sql}`,
      w.params,
    )) as Array<Record<string, unknown>>
  ).map((a): AttemptRow => ({
    taskRunId: String(a.task_run_id),
    tenantId: String(a.tenant_id),
    number: num(a.number),
    kind: String(a.kind),
    assignedAt: num(a.assigned_at),
    finishedAt: numOrNull(a.finished_at),
  }));
  return { runs, tasks, attempts };
}

/** Run counts by state for some jobs. */
export async function runStates(db: Database, jobNames: readonly string[]): Promise<Record<string, number>> {
  const rows = (await db.manager.query(
    `SELECT state, COUNT(*) AS n FROM runs WHERE job_name IN (${jobNames.map(() => '?').join(',')}) GROUP BY state`,
    [...jobNames],
  )) as Array<{ state: string; n: number | string }>;
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

/**
 * The ready_at values stored right now for tasks still waiting or running
 * (the engine clears them on success): kept to check the rebuilt ready times.
 */
export async function sampleReadyAt(db: Database, into: Map<string, number>, limit = 2_000): Promise<void> {
  const rows = (await db.manager.query(
    `SELECT id, ready_at FROM task_runs WHERE state IN ('queued', 'assigned', 'running') AND ready_at IS NOT NULL LIMIT ${limit}`,
  )) as Array<{ id: string; ready_at: number | string }>;
  for (const r of rows) if (!into.has(r.id)) into.set(r.id, Number(r.ready_at));
}
