import { Injectable } from '@nestjs/common';
import { type RunState, TASK_STATES, type TaskState, topologicalOrder } from '@baton/domain';
import { Database, JobEntity, JobVersionEntity, RunEntity, type TenantScope, scoped } from '@baton/persistence';
import { ProblemException, decodeNumericCursor, encodeCursor } from '@baton/http';

/** One run's row of the grid; `cells[i]` and `attempts[i]` belong to `tasks[i]`. */
export interface GridRun {
  id: string;
  state: RunState;
  jobVersion: number;
  logicalDate: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Index into `states`, or -1 where the run's version has no such task. */
  cells: number[];
  /** The task's latest attempt number (0: none yet). */
  attempts: number[];
}

export interface Grid {
  job: string;
  /** Task keys, once: the current version's order, then keys only older runs have. */
  tasks: string[];
  /** The legend of `cells`. */
  states: readonly TaskState[];
  /** Newest first. */
  runs: GridRun[];
  nextCursor: string | null;
}

const STATE_INDEX = new Map(TASK_STATES.map((s, i) => [s, i]));
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

interface TaskCellRow {
  runId: string;
  taskKey: string;
  state: TaskState;
  attemptsUsed: number;
}

/**
 * The runs × tasks state matrix of a job (Airflow's grid), in three indexed
 * queries: a page of runs by (tenant, job, created), their task runs by run id,
 * and the current version's task order. Cells are small integers so a page of
 * 100 runs of a 500-task job stays a few hundred kilobytes.
 */
@Injectable()
export class GridService {
  constructor(private readonly db: Database) {}

  async grid(scope: TenantScope, jobName: string, limit: number, cursor: string | undefined): Promise<Grid> {
    const m = this.db.manager;
    const job = await scoped(m, scope).findOne(JobEntity, { where: { name: jobName } });
    if (!job) throw ProblemException.notFound(`job ${jobName}`);
    const after = decodeNumericCursor(cursor);
    const q = scoped(m, scope)
      .query(RunEntity, 'r')
      .andWhere('r.job_name = :j', { j: jobName })
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(limit + 1);
    if (after) q.andWhere('(r.created_at < :k OR (r.created_at = :k AND r.id < :id))', { k: after.k, id: after.id });
    const [rows, version] = await Promise.all([
      q.getMany(),
      scoped(m, scope).findOne(JobVersionEntity, { where: { jobId: job.id, version: job.currentVersion } }),
    ]);
    const page = rows.slice(0, limit);
    // A plain statement: tens of thousands of rows skip the query builder's per-row mapping.
    const cells: TaskCellRow[] = page.length
      ? await m.query(
          `SELECT run_id AS runId, task_key AS taskKey, state, attempts_used AS attemptsUsed FROM task_runs
           WHERE tenant_id = ? AND run_id IN (${page.map(() => '?').join(', ')})`,
          [scope.tenantId, ...page.map((r) => r.id)],
        )
      : [];

    const tasks = version ? topologicalOrder(version.definition.tasks) : [];
    const column = new Map(tasks.map((k, i) => [k, i]));
    // Keys that only older versions had go after the current ones, in a stable order.
    for (const key of [...new Set(cells.map((c) => c.taskKey))].filter((k) => !column.has(k)).sort()) {
      column.set(key, tasks.length);
      tasks.push(key);
    }

    const byRun = new Map<string, GridRun>();
    const out = page.map((r) => {
      const g: GridRun = {
        id: r.id,
        state: r.state,
        jobVersion: r.jobVersion,
        logicalDate: iso(r.logicalDate)!,
        createdAt: iso(r.createdAt)!,
        startedAt: iso(r.startedAt),
        finishedAt: iso(r.finishedAt),
        cells: new Array<number>(tasks.length).fill(-1),
        attempts: new Array<number>(tasks.length).fill(0),
      };
      byRun.set(r.id, g);
      return g;
    });
    for (const c of cells) {
      const g = byRun.get(c.runId)!;
      const i = column.get(c.taskKey)!;
      g.cells[i] = STATE_INDEX.get(c.state) ?? -1;
      // An offer not yet acknowledged is the next attempt; attempts_used counts the ones that started.
      const used = Number(c.attemptsUsed);
      g.attempts[i] = c.state === 'assigned' ? used + 1 : used;
    }
    const last = page[page.length - 1];
    return {
      job: jobName,
      tasks,
      states: TASK_STATES,
      runs: out,
      nextCursor: rows.length > limit && last ? encodeCursor({ k: last.createdAt, id: last.id }) : null,
    };
  }
}
