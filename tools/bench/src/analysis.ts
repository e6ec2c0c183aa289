// Pure computations over the rows the platform stored (runs, task_runs,
// attempts): ready -> Assign, in-flight counts, and Jain's fairness index
// over the windows in which every tenant compared had work waiting.
import { jainIndex } from '@baton/domain';
import { type Summary, percentile, summarize } from './stats.js';

export interface RunRow {
  id: string;
  tenantId: string;
  jobName: string;
  state: string;
  createdAt: number;
  /** When it started: a run created ahead of its slot (scheduled) starts at the slot; null while it waits. */
  startedAt: number | null;
  finishedAt: number | null;
  logicalDate: number;
}

export interface TaskRow {
  id: string;
  tenantId: string;
  runId: string;
  key: string;
  state: string;
  /** As stored: the engine sets it when the task is queued and clears it (NULL) when the task succeeds. */
  readyAt: number | null;
  finishedAt: number | null;
}

export interface AttemptRow {
  taskRunId: string;
  tenantId: string;
  number: number;
  kind: string;
  assignedAt: number;
  finishedAt: number | null;
}

/** A task's upstream keys, by job name and task key. */
export type Deps = (jobName: string, key: string) => readonly string[];

/** The dependsOn lists of a job definition the bench built. */
export function depsOf(def: { tasks: Array<{ key: string; dependsOn?: string[] }> }): Map<string, readonly string[]> {
  return new Map(def.tasks.map((t) => [t.key, t.dependsOn ?? []]));
}

export interface ReadyAssign {
  taskId: string;
  runId: string;
  tenantId: string;
  jobName: string;
  key: string;
  ready: number;
  assigned: number;
  /** The first attempt's end (null when it did not finish). */
  finished: number | null;
  /** Where `ready` came from: the stored ready_at, or rebuilt from the run's or the upstream tasks' rows. */
  source: 'stored' | 'run' | 'upstream';
}

/**
 * When each task became ready and when its first attempt was assigned.
 *
 * The engine stores `task_runs.ready_at` when it queues a task (at run
 * creation for roots, in the transaction that applies the upstream result
 * for the others) and sets it back to NULL when the task succeeds, so after a
 * run it is gone for every task that succeeded. It is rebuilt from rows that
 * stay: a root's is its run's `created_at` (both are the creating
 * transaction's clock), any other task's is the latest `finished_at` of its
 * upstream tasks (a result batch stamps the result time and the readiness of
 * what it unblocks with the same clock). A stored value wins when there is
 * one; tasks retried (more than one main attempt) are left out.
 */
export function readyToAssign(
  runs: readonly RunRow[],
  tasks: readonly TaskRow[],
  attempts: readonly AttemptRow[],
  deps: Deps,
  opts: { preferStored?: boolean } = {},
): { items: ReadyAssign[]; skipped: number } {
  const preferStored = opts.preferStored ?? true;
  const runById = new Map(runs.map((r) => [r.id, r]));
  const byRunKey = new Map<string, TaskRow>();
  for (const t of tasks) byRunKey.set(`${t.runId}\u0000${t.key}`, t);
  const first = new Map<string, AttemptRow>();
  const mains = new Map<string, number>();
  for (const a of attempts) {
    if (a.kind !== 'main') continue;
    mains.set(a.taskRunId, (mains.get(a.taskRunId) ?? 0) + 1);
    const f = first.get(a.taskRunId);
    if (!f || a.number < f.number) first.set(a.taskRunId, a);
  }
  const items: ReadyAssign[] = [];
  let skipped = 0;
  for (const t of tasks) {
    const a = first.get(t.id);
    const run = runById.get(t.runId);
    if (!a || !run) continue;
    if ((mains.get(t.id) ?? 0) > 1) {
      skipped++;
      continue;
    }
    let ready: number | null = null;
    let source: ReadyAssign['source'] = 'stored';
    if (preferStored && t.readyAt !== null) ready = t.readyAt;
    else {
      const up = deps(run.jobName, t.key);
      if (up.length === 0) {
        ready = run.createdAt;
        source = 'run';
      } else {
        source = 'upstream';
        for (const k of up) {
          const u = byRunKey.get(`${t.runId}\u0000${k}`);
          if (!u || u.finishedAt === null) {
            ready = null;
            break;
          }
          ready = Math.max(ready ?? -Infinity, u.finishedAt);
        }
      }
    }
    if (ready === null) {
      skipped++;
      continue;
    }
    items.push({
      taskId: t.id,
      runId: t.runId,
      tenantId: t.tenantId,
      jobName: run.jobName,
      key: t.key,
      ready,
      assigned: a.assignedAt,
      finished: a.finishedAt,
      source,
    });
  }
  return { items, skipped };
}

/** ready -> Assign latencies (ms) of some tasks. */
export function latencies(items: readonly ReadyAssign[]): Summary {
  return summarize(items.map((i) => i.assigned - i.ready));
}

/**
 * Compares rebuilt ready times with the ready_at values sampled from the
 * database while the tasks were waiting or running: how many agree.
 */
export function checkReady(
  sampled: ReadonlyMap<string, number>,
  rebuilt: readonly ReadyAssign[],
): { sampled: number; compared: number; equal: number; maxDiffMs: number } {
  let compared = 0;
  let equal = 0;
  let maxDiffMs = 0;
  for (const r of rebuilt) {
    const s = sampled.get(r.taskId);
    if (s === undefined) continue;
    compared++;
    if (s === r.ready) equal++;
    maxDiffMs = Math.max(maxDiffMs, Math.abs(s - r.ready));
  }
  return { sampled: sampled.size, compared, equal, maxDiffMs };
}

/** The most attempts of each tenant assigned and not yet finished at once. */
export function peakInFlight(items: readonly ReadyAssign[]): Map<string, number> {
  const events = new Map<string, Array<[number, number]>>();
  for (const i of items) {
    const list = events.get(i.tenantId) ?? [];
    list.push([i.assigned, 1]);
    if (i.finished !== null) list.push([i.finished, -1]);
    events.set(i.tenantId, list);
  }
  const out = new Map<string, number>();
  for (const [tenant, list] of events) {
    // Ends before starts at the same millisecond.
    list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let n = 0;
    let peak = 0;
    for (const [, d] of list) {
      n += d;
      peak = Math.max(peak, n);
    }
    out.set(tenant, peak);
  }
  return out;
}

/** Index of the first element > x in an ascending array. */
function upper(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface JainResult {
  windowMs: number;
  /** Whole windows in [from, to) in which every tenant had work waiting throughout. */
  windows: number;
  /** Windows looked at (saturated or not). */
  considered: number;
  /** Saturated windows in which no task of either tenant was assigned (a stall): left out of the index. */
  empty: number;
  /** Jain's index per saturated window: mean, lowest, 5th percentile. */
  mean: number;
  min: number;
  p5: number;
  /** Jain's index of the tenants' totals over the saturated windows. */
  overall: number;
  /** Tasks each tenant got assigned in the saturated windows. */
  perTenant: Record<string, number>;
  /** Per counted window: its start relative to `from` (ms), then each tenant's tasks, in `tenants` order. */
  series: number[][];
}

/**
 * Jain's fairness index J(x) = (Σx)² / (n·Σx²) over tenants of equal weight,
 * per time window, counting only windows in which every tenant was saturated.
 *
 * A tenant's backlog at instant t (ms) = its tasks ready at or before t minus
 * those whose first attempt was assigned at or before t; it is saturated at t
 * when its backlog is above zero (it has work waiting). Windows are
 * [from + k·W, from + (k+1)·W); a window counts when every tenant is
 * saturated at every instant of it. x_i = tenant i's tasks whose first
 * attempt was assigned in the window. 1 means equal shares; 1/n means one
 * tenant got everything. A saturated window in which nobody got a task (a
 * stall) says nothing about shares: it is counted apart, not in the index.
 */
export function jainOverSaturatedWindows(
  items: readonly ReadyAssign[],
  tenants: readonly string[],
  windowMs: number,
  from: number,
  to = Infinity,
): JainResult {
  const ready = new Map<string, number[]>();
  const assigned = new Map<string, number[]>();
  for (const t of tenants) {
    ready.set(t, []);
    assigned.set(t, []);
  }
  let last = -Infinity;
  for (const i of items) {
    if (!ready.has(i.tenantId)) continue;
    ready.get(i.tenantId)!.push(i.ready);
    assigned.get(i.tenantId)!.push(i.assigned);
    last = Math.max(last, i.assigned);
  }
  for (const t of tenants) {
    ready.get(t)!.sort((a, b) => a - b);
    assigned.get(t)!.sort((a, b) => a - b);
  }
  const end = Math.min(to, last + 1);
  const backlog = (t: string, at: number) => upper(ready.get(t)!, at) - upper(assigned.get(t)!, at);
  const saturated = (t: string, w0: number, w1: number) => {
    if (backlog(t, w0) <= 0) return false;
    // The backlog only drops at an assignment: check the instants of those inside the window.
    const a = assigned.get(t)!;
    for (let k = upper(a, w0); k < a.length && a[k]! < w1; k++) {
      if (backlog(t, a[k]!) <= 0) return false;
    }
    return true;
  };
  const indices: number[] = [];
  const perTenant: Record<string, number> = Object.fromEntries(tenants.map((t) => [t, 0]));
  const series: number[][] = [];
  let considered = 0;
  let empty = 0;
  for (let w0 = from; w0 + windowMs <= end; w0 += windowMs) {
    considered++;
    const w1 = w0 + windowMs;
    if (!tenants.every((t) => saturated(t, w0, w1))) continue;
    const xs = tenants.map((t) => upper(assigned.get(t)!, w1 - 1) - upper(assigned.get(t)!, w0 - 1));
    if (xs.every((x) => x === 0)) {
      empty++;
      continue;
    }
    indices.push(jainIndex(xs));
    series.push([w0 - from, ...xs]);
    tenants.forEach((t, k) => (perTenant[t]! += xs[k]!));
  }
  const sorted = [...indices].sort((a, b) => a - b);
  return {
    windowMs,
    windows: indices.length,
    considered,
    empty,
    mean: indices.length ? indices.reduce((a, b) => a + b, 0) / indices.length : NaN,
    min: indices.length ? sorted[0]! : NaN,
    p5: percentile(sorted, 5),
    overall: indices.length ? jainIndex(tenants.map((t) => perTenant[t]!)) : NaN,
    perTenant,
    series,
  };
}
