import { zonedInstant } from './cron.js';
import { percentileRank } from './reports.js';
import { wallClock } from './time.js';

/**
 * Deadlines of runs (a job's `sla`) and the prediction of when a run will
 * finish. Pure: the insight service feeds it the run's tasks, their history
 * and the clock, and stores what it decides.
 */

/** A run's SLA state: `pending` until decided; `at_risk` once the prediction passes the warning time. */
export type SlaState = 'pending' | 'at_risk' | 'met' | 'missed';
export const SLA_STATES: readonly SlaState[] = ['pending', 'at_risk', 'met', 'missed'];

/**
 * Where an SLA state may go. `at_risk` does not fall back to `pending` when
 * the prediction improves: a warning is raised once per run, never flapping.
 */
export const SLA_TRANSITIONS: Readonly<Record<SlaState, readonly SlaState[]>> = {
  pending: ['at_risk', 'met', 'missed'],
  at_risk: ['met', 'missed'],
  met: [],
  missed: [],
};

export function canSlaTransition(from: SlaState, to: SlaState): boolean {
  return SLA_TRANSITIONS[from].includes(to);
}

/** A wall-clock time relative to the logical date's calendar day: `06:00+1d` is 06:00 the next day. */
export interface WallTime {
  days: number;
  hour: number;
  minute: number;
}

const WALL_TIME = /^([01]?\d|2[0-3]):([0-5]\d)(?:\s*\+\s*(\d{1,2})d)?$/;

/** `HH:MM`, optionally followed by `+Nd` (days after the logical date, at most 31); null when it is not one. */
export function parseWallTime(text: string): WallTime | null {
  const m = WALL_TIME.exec(text.trim());
  if (!m) return null;
  const days = m[3] === undefined ? 0 : Number(m[3]);
  if (days > 31) return null;
  return { days, hour: Number(m[1]), minute: Number(m[2]) };
}

export function formatWallTime(w: WallTime): string {
  const hm = `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
  return w.days === 0 ? hm : `${hm}+${w.days}d`;
}

/** A job's service-level agreement, as stored with its definition. */
export interface SlaSpec {
  /** The zone `finishBy` and `startBy` are read in (IANA name). */
  timezone: string;
  finishBy: WallTime | null;
  startBy: WallTime | null;
  /** From the run's start to its end. */
  maxDurationMs: number | null;
  /** How long before the deadline a predicted breach warns. */
  warnBeforeMs: number;
}

/** The instant of a wall time for a logical date: the date's calendar day in the SLA's zone, plus `days`. */
export function wallTimeInstant(w: WallTime, logicalDate: number, timezone: string): number {
  const d = wallClock(logicalDate, timezone);
  // Date.UTC normalises a day past the month's end into the next month.
  const day = new Date(Date.UTC(d.year, d.month - 1, d.day + w.days));
  return zonedInstant(timezone, day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), w.hour, w.minute);
}

export interface SlaDeadlines {
  /** The run must start by then (null: no `startBy`). */
  startBy: number | null;
  /** The run must have finished by then: the earlier of `finishBy` and start + `maxDuration` (null: neither). */
  finishBy: number | null;
  /** A predicted finish after this is a warning (finishBy − warnBefore). */
  warnAt: number | null;
}

/** The deadlines of a run with this logical date; `startedAt` null while it has not started. */
export function slaDeadlines(spec: SlaSpec, logicalDate: number, startedAt: number | null): SlaDeadlines {
  const byClock = spec.finishBy ? wallTimeInstant(spec.finishBy, logicalDate, spec.timezone) : null;
  const byDuration = spec.maxDurationMs !== null && startedAt !== null ? startedAt + spec.maxDurationMs : null;
  const finishBy = byClock === null ? byDuration : byDuration === null ? byClock : Math.min(byClock, byDuration);
  return {
    startBy: spec.startBy ? wallTimeInstant(spec.startBy, logicalDate, spec.timezone) : null,
    finishBy,
    warnAt: finishBy === null ? null : finishBy - spec.warnBeforeMs,
  };
}

/** Nearest-rank percentile of ascending values (p in 0..100); null for none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[percentileRank(sorted.length, p) - 1]!;
}

/** What a task is expected to take, from its recent successful attempts. */
export interface TaskEstimate {
  /** Attempts the estimate is made of (0: no history; see withAssumedDurations for what it is then assumed to take). */
  samples: number;
  runP50: number;
  runP90: number;
  /** Ready → started. */
  waitP50: number;
  waitP90: number;
}

/** An estimate from run times and queue waits (ms) of a task's last successful attempts. */
export function estimateTask(runs: readonly number[], waits: readonly number[]): TaskEstimate {
  const r = [...runs].sort((a, b) => a - b);
  const w = [...waits].sort((a, b) => a - b);
  return {
    samples: r.length,
    runP50: percentile(r, 50) ?? 0,
    runP90: percentile(r, 90) ?? 0,
    waitP50: percentile(w, 50) ?? 0,
    waitP90: percentile(w, 90) ?? 0,
  };
}

/**
 * How long a task with no successful attempt in its history is assumed to
 * take when it declares neither `maxDuration` nor `timeout`: without it a new
 * task would count as taking no time and the prediction would say "on time"
 * for a run that cannot know.
 */
export const NO_HISTORY_DEFAULT_MS = 10 * 60_000;

/** A task predicted without history, at what it was assumed to take and why. */
export interface AssumedTask {
  key: string;
  /** Its assumed run time (p50 and p90 alike), ms. */
  ms: number;
  /** `maxDuration`: the task's own; `timeout`: its timeout; `default`: NO_HISTORY_DEFAULT_MS. */
  from: 'maxDuration' | 'timeout' | 'default';
}

/**
 * Estimates for every task of the definition: the history's where it has
 * samples; for a task with none, its own `maxDuration`, else its `timeout`,
 * else NO_HISTORY_DEFAULT_MS, as both p50 and p90 (no queue wait), named in
 * `assumed`. The estimates keep `samples: 0`, so the prediction still lists
 * them as `unknown`.
 */
export function withAssumedDurations(
  tasks: ReadonlyArray<{ key: string; maxDurationMs?: number; timeoutMs: number }>,
  history: ReadonlyMap<string, TaskEstimate>,
): { estimates: Map<string, TaskEstimate>; assumed: AssumedTask[] } {
  const estimates = new Map(history);
  const assumed: AssumedTask[] = [];
  for (const t of tasks) {
    if ((history.get(t.key)?.samples ?? 0) > 0) continue;
    const a: AssumedTask =
      t.maxDurationMs !== undefined && t.maxDurationMs > 0
        ? { key: t.key, ms: t.maxDurationMs, from: 'maxDuration' }
        : t.timeoutMs > 0
          ? { key: t.key, ms: t.timeoutMs, from: 'timeout' }
          : { key: t.key, ms: NO_HISTORY_DEFAULT_MS, from: 'default' };
    assumed.push(a);
    estimates.set(t.key, { samples: 0, runP50: a.ms, runP90: a.ms, waitP50: 0, waitP90: 0 });
  }
  return { estimates, assumed };
}

/** A task of the run as the prediction sees it. */
export interface PredictedTask {
  key: string;
  dependsOn: readonly string[];
  /** done: succeeded, failed, skipped and the like; running: assigned or running; waiting: anything before. */
  phase: 'done' | 'running' | 'waiting';
  startedAt: number | null;
  finishedAt: number | null;
}

export interface RunPrediction {
  /** The predicted end of the run, median and pessimistic. */
  finishP50: number;
  finishP90: number;
  /** The chain of tasks that decides the p90 finish, first to last. */
  criticalPath: string[];
  /** The first task on the critical path that has not finished: the one holding the run. */
  keyTask: string | null;
  /** Tasks still to finish that have no history (counted at their estimate: see withAssumedDurations). */
  unknown: string[];
}

/**
 * When the run will finish, from each task's estimate along the DAG from the
 * run's current state: a finished task ends when it did; a running one at
 * its start plus its run time (not before now); a waiting one when its
 * upstream has ended, plus its queue wait and run time (not before now).
 * Before the run exists, pass every task waiting and `notBefore` its
 * expected start.
 */
export function predictRun(
  tasks: readonly PredictedTask[],
  estimates: ReadonlyMap<string, TaskEstimate>,
  now: number,
  notBefore = now,
): RunPrediction {
  const byKey = new Map(tasks.map((t) => [t.key, t]));
  const ends = { p50: new Map<string, number>(), p90: new Map<string, number>() };
  /** The upstream task whose p90 end each task waited for. */
  const via = new Map<string, string | null>();
  const unknown: string[] = [];
  const start = Math.max(now, notBefore);
  const visiting = new Set<string>();
  const end = (key: string): void => {
    if (ends.p90.has(key)) return;
    const t = byKey.get(key);
    if (!t || visiting.has(key)) throw new Error(`cannot predict task ${key}: unknown or in a cycle`);
    visiting.add(key);
    for (const d of t.dependsOn) end(d);
    visiting.delete(key);
    const e = estimates.get(key);
    if (t.phase !== 'done' && (!e || e.samples === 0)) unknown.push(key);
    let last: string | null = null;
    for (const d of t.dependsOn) if (last === null || ends.p90.get(d)! > ends.p90.get(last)!) last = d;
    via.set(key, last);
    for (const q of ['p50', 'p90'] as const) {
      const upstream = Math.max(0, ...t.dependsOn.map((d) => ends[q].get(d)!));
      const run = q === 'p50' ? (e?.runP50 ?? 0) : (e?.runP90 ?? 0);
      const wait = q === 'p50' ? (e?.waitP50 ?? 0) : (e?.waitP90 ?? 0);
      let at: number;
      if (t.phase === 'done') at = t.finishedAt ?? upstream;
      else if (t.phase === 'running') at = Math.max(now, (t.startedAt ?? now) + run);
      else at = Math.max(start, upstream) + wait + run;
      ends[q].set(key, at);
    }
  };
  for (const t of tasks) end(t.key);
  let tail: string | null = null;
  // On a tie the later task is the tail: the path then runs to the run's end.
  for (const t of tasks) if (tail === null || ends.p90.get(t.key)! >= ends.p90.get(tail)!) tail = t.key;
  const criticalPath: string[] = [];
  for (let k = tail; k !== null; k = via.get(k) ?? null) criticalPath.unshift(k);
  const keyTask = criticalPath.find((k) => byKey.get(k)!.phase !== 'done') ?? null;
  const latest = (q: 'p50' | 'p90') => Math.max(...tasks.map((t) => ends[q].get(t.key)!));
  return {
    finishP50: tasks.length === 0 ? start : latest('p50'),
    finishP90: tasks.length === 0 ? start : latest('p90'),
    criticalPath,
    keyTask,
    unknown,
  };
}

/** A task of the run with its own `maxDuration`. */
export interface TimedTask {
  key: string;
  maxDurationMs: number;
  phase: PredictedTask['phase'];
  startedAt: number | null;
  finishedAt: number | null;
}

/**
 * The tasks past their own `maxDuration` at `now` (running longer, or done
 * after taking longer), except those already reported; and when to look
 * again: the soonest a running task would pass it, or maxDuration from now
 * for one not started yet (null: nothing left to time).
 */
export function taskBreaches(
  tasks: readonly TimedTask[],
  reported: ReadonlySet<string>,
  now: number,
): { breached: Array<{ key: string; maxDurationMs: number; at: number }>; nextAt: number | null } {
  const breached: Array<{ key: string; maxDurationMs: number; at: number }> = [];
  let nextAt: number | null = null;
  const soonest = (at: number) => (nextAt = nextAt === null ? at : Math.min(nextAt, at));
  for (const t of tasks) {
    if (reported.has(t.key)) continue;
    // Not started: it cannot breach before maxDuration from now (looked at again then).
    if (t.startedAt === null) {
      if (t.phase !== 'done') soonest(now + t.maxDurationMs);
      continue;
    }
    const due = t.startedAt + t.maxDurationMs;
    const end = t.phase === 'done' ? (t.finishedAt ?? now) : now;
    if (end > due) breached.push({ key: t.key, maxDurationMs: t.maxDurationMs, at: due });
    else if (t.phase === 'running') soonest(due);
  }
  return { breached, nextAt };
}

/** What the SLA decision knows of a run at one moment. */
export interface SlaFacts {
  deadlines: SlaDeadlines;
  /** null while the run has not started (or does not exist yet). */
  startedAt: number | null;
  /** null while it runs. */
  finishedAt: number | null;
  /** The run ended without success (failed, cancelled): that misses the SLA at once. */
  failed: boolean;
  /** The predicted p90 finish (null without a prediction). */
  predictedP90: number | null;
  now: number;
}

export interface SlaDecision {
  state: SlaState;
  /** Why, for the run's view and the alert. */
  reason: string | null;
}

/**
 * The run's SLA state now. `met` and `missed` are final; a deadline that
 * passed misses even while the run hangs; `at_risk` is kept until the run
 * meets or misses.
 */
export function decideSla(current: SlaState, f: SlaFacts): SlaDecision {
  if (current === 'met' || current === 'missed') return { state: current, reason: null };
  const { finishBy, startBy, warnAt } = f.deadlines;
  if (f.finishedAt !== null) {
    if (f.failed) return { state: 'missed', reason: 'the run did not succeed' };
    if (finishBy !== null && f.finishedAt > finishBy) return { state: 'missed', reason: 'finished after the deadline' };
    if (startBy !== null && (f.startedAt ?? f.finishedAt) > startBy) {
      return { state: 'missed', reason: 'started after the start deadline' };
    }
    return { state: 'met', reason: null };
  }
  if (finishBy !== null && f.now > finishBy) return { state: 'missed', reason: 'not finished by the deadline' };
  if (startBy !== null && f.startedAt === null && f.now > startBy) {
    return { state: 'missed', reason: 'not started by the start deadline' };
  }
  if (current === 'at_risk') return { state: 'at_risk', reason: null };
  if (warnAt !== null && f.predictedP90 !== null && f.predictedP90 > warnAt) {
    return { state: 'at_risk', reason: 'the predicted finish (p90) is past the warning time' };
  }
  return { state: 'pending', reason: null };
}

/** A finished run of the job's history, for a backtest. */
export interface PastRun {
  logicalDate: number;
  startedAt: number | null;
  finishedAt: number;
  succeeded: boolean;
}

export interface SlaBacktest {
  runs: number;
  met: number;
  missed: number;
  /** met / runs (null without runs). */
  metRatio: number | null;
  /** How late the latest miss of a finish deadline was (ms), or 0. */
  worstLatenessMs: number;
  /** The runs that would have missed, by their index in the history given, with why and how late. */
  misses: Array<{ index: number; reason: string | null; lateByMs: number | null }>;
}

/** How often the job's past runs would have met `spec`. */
export function backtestSla(spec: SlaSpec, history: readonly PastRun[]): SlaBacktest {
  let met = 0;
  let worst = 0;
  const misses: SlaBacktest['misses'] = [];
  for (const [index, r] of history.entries()) {
    const d = slaDeadlines(spec, r.logicalDate, r.startedAt);
    const verdict = decideSla('pending', {
      deadlines: d,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      failed: !r.succeeded,
      predictedP90: null,
      now: r.finishedAt,
    });
    const late = d.finishBy === null ? null : Math.max(0, r.finishedAt - d.finishBy);
    if (verdict.state === 'met') met++;
    else misses.push({ index, reason: verdict.reason, lateByMs: late });
    if (late !== null) worst = Math.max(worst, late);
  }
  return {
    runs: history.length,
    met,
    missed: history.length - met,
    metRatio: history.length === 0 ? null : met / history.length,
    worstLatenessMs: worst,
    misses,
  };
}

/** What is stored of a run's SLA (the insight service's `run_slas` row). */
export interface StoredSla {
  runId: string;
  jobName: string;
  logicalDate: number;
  state: string;
  reason: string | null;
  startBy: number | null;
  finishBy: number | null;
  warnAt: number | null;
  predictedP50: number | null;
  predictedP90: number | null;
  keyTask: string | null;
  criticalPath: string | null;
  /** JSON list of {key, maxDurationMs, at}. */
  taskBreaches: string | null;
  /** JSON list of AssumedTask: the tasks of the prediction without history. */
  assumedTasks: string | null;
  atRiskAt: number | null;
  decidedAt: number | null;
  updatedAt: number;
}

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A run's stored SLA as the API shows it (`GET /api/v1/runs/{id}/sla`, and `sla` in the run's view). */
export function slaView(row: StoredSla) {
  return {
    runId: row.runId,
    job: row.jobName,
    logicalDate: isoOrNull(row.logicalDate),
    state: row.state,
    reason: row.reason,
    startBy: isoOrNull(row.startBy),
    finishBy: isoOrNull(row.finishBy),
    warnAt: isoOrNull(row.warnAt),
    predicted:
      row.predictedP90 === null
        ? null
        : {
            finishP50: isoOrNull(row.predictedP50),
            finishP90: isoOrNull(row.predictedP90),
            keyTask: row.keyTask,
            criticalPath: row.criticalPath ? (JSON.parse(row.criticalPath) as string[]) : [],
            /** Tasks predicted without history, at the duration assumed for each and where it came from. */
            assumed: (row.assumedTasks ? (JSON.parse(row.assumedTasks) as AssumedTask[]) : []).map((a) => ({
              task: a.key,
              ms: a.ms,
              from: a.from,
            })),
          },
    /** Tasks that ran past their own maxDuration, and when they passed it. */
    taskBreaches: (row.taskBreaches
      ? (JSON.parse(row.taskBreaches) as Array<{ key: string; maxDurationMs: number; at: number }>)
      : []
    ).map((b) => ({ task: b.key, maxDurationMs: b.maxDurationMs, at: isoOrNull(b.at) })),
    atRiskAt: isoOrNull(row.atRiskAt),
    decidedAt: isoOrNull(row.decidedAt),
    updatedAt: isoOrNull(row.updatedAt),
  };
}
