import type { Platform } from '@baton/testing';
import { type ChildAgents, connectAll, startAgentProcesses } from './agents.js';
import { type ReadyAssign, checkReady, depsOf, latencies, readyToAssign } from './analysis.js';
import { CpuMeter, MachineCpuMeter, pidsByName, readPeakRss } from './machine.js';
import { type DbKind, TERMINAL, freshTarget, launch, putJob, startRuns, tail, tallyWaiting } from './platform.js';
import { QueryCounter, type StatementCounts } from './queries.js';
import { openReader, readRows, runStates, sampleReadyAt } from './rows.js';
import { type Summary, sleep, summarize } from './stats.js';

export const FLEET_RUNS = 1_000;
export const FLEET_AGENTS = 10;
export const FLEET_SLOTS = 100;
/** The parallel layer of the 10-task DAG: a root, 8 in parallel, a join. */
export const FLEET_WIDTH = 8;
/** Agent connections per agent child process. */
export const FLEET_PER_PROCESS = 5;
/** POST /runs requests in flight at once while the runs are started. */
export const FLEET_SUBMITTERS = 16;

export interface FleetOptions {
  runs: number;
  agents: number;
  slots: number;
  timeoutMs: number;
}

export interface FleetResult {
  db: DbKind;
  runs: number;
  agents: number;
  slots: number;
  ok: boolean;
  error?: string;
  /** Runs that ended succeeded, and tasks that succeeded. */
  succeededRuns: number;
  tasks: number;
  /** Starting all runs over the API (before the agents connect): first POST -> last POST answered. */
  submitSeconds: number;
  /** First attempt assigned -> last attempt finished. */
  busySeconds: number;
  tasksPerSec: number;
  runsPerSec: number;
  /** Run created_at (or, when later, the moment the agents were told to connect) -> finished_at. */
  runDuration: Summary;
  /**
   * First attempt assigned_at - the task's ready time, all tasks and by layer; a root's ready time is the later
   * of its run's creation and the moment the agents were told to connect.
   */
  readyAssign: Summary;
  byLayer: { root: Summary; middle: Summary; join: Summary };
  /** Attempt finished_at - assigned_at. */
  turnaround: Summary;
  /** Rebuilt ready times against ready_at sampled while tasks waited or ran. */
  readyCheck: { sampled: number; compared: number; equal: number; maxDiffMs: number };
  /** waitingReason of the tasks of runs sampled through GET /api/v1/runs/{id} while they ran. */
  waiting: Record<string, number>;
  /** The same for the last run started, before the agents connected. */
  waitingBeforeAgents: Record<string, number>;
  /** Statements the platform sent to the database over the measured interval. */
  queries: StatementCounts | null;
  cpu: Record<string, number>;
  machineCpu: number;
  rssMb: Record<string, number>;
}

export function fleetDefinition(width = FLEET_WIDTH) {
  const mid = Array.from({ length: width }, (_, i) => `m${i + 1}`);
  return {
    description: `benchmark: a root, ${width} in parallel, a join (noop tasks)`,
    tasks: [
      { key: 'root', type: 'noop' },
      ...mid.map((key) => ({ key, type: 'noop', dependsOn: ['root'] })),
      { key: 'join', type: 'noop', dependsOn: mid },
    ],
  };
}

/**
 * `runs` runs of the 10-task DAG started at once (FLEET_SUBMITTERS requests in
 * flight) on `agents` connections of `slots` slots; timings from the rows.
 */
export async function runFleet(kind: DbKind, o: FleetOptions, log: (s: string) => void): Promise<FleetResult> {
  const t = await freshTarget(kind);
  const queries = new QueryCounter();
  const def = fleetDefinition();
  const deps = depsOf(def);
  let p: Platform | null = null;
  let groups: ChildAgents[] = [];
  let connectAt = 0;
  let reader: Awaited<ReturnType<typeof openReader>> | null = null;
  const empty = summarize([]);
  const base: FleetResult = {
    db: kind,
    runs: o.runs,
    agents: o.agents,
    slots: o.slots,
    ok: false,
    succeededRuns: 0,
    tasks: 0,
    submitSeconds: NaN,
    busySeconds: NaN,
    tasksPerSec: NaN,
    runsPerSec: NaN,
    runDuration: empty,
    readyAssign: empty,
    byLayer: { root: empty, middle: empty, join: empty },
    turnaround: empty,
    readyCheck: { sampled: 0, compared: 0, equal: 0, maxDiffMs: 0 },
    waiting: {},
    waitingBeforeAgents: {},
    queries: null,
    cpu: {},
    machineCpu: NaN,
    rssMb: {},
  };
  const errors: string[] = [];
  try {
    p = await launch(t, { queries });
    const platform = p;
    const token = await p.agentToken();
    groups = await startAgentProcesses({
      server: p.grpc,
      token,
      prefix: 'fleet',
      connections: o.agents,
      slots: o.slots,
      perProcess: FLEET_PER_PROCESS,
      defer: true,
    });
    await putJob(p, 'fleet', def);
    reader = await openReader(t);
    // All runs first (over the API, the agents loaded but not connected): then they are all in flight at once.
    const t0 = performance.now();
    const ids = await startRuns(p, 'fleet', o.runs, FLEET_SUBMITTERS);
    base.submitSeconds = (performance.now() - t0) / 1000;
    await tallyWaiting(p, ids[ids.length - 1]!, base.waitingBeforeAgents).catch(() => undefined);
    log(`  fleet ${kind}: ${o.runs} runs started in ${base.submitSeconds.toFixed(1)} s; connecting the agents`);
    const meter = new CpuMeter({
      platform: () => [platform.proc.pid!],
      agents: () => groups.map((g) => g.pid),
      bench: () => [process.pid],
      ...(kind === 'mariadb' ? { mariadbd: () => pidsByName('mariadbd', 'mysqld') } : {}),
    });
    const machine = new MachineCpuMeter();
    await queries.begin();
    meter.begin();
    machine.begin();
    connectAt = Date.now();
    await connectAll(groups);
    const sampled = new Map<string, number>();
    const until = Date.now() + o.timeoutMs;
    let lastLog = Date.now();
    let lastWaitSample = 0;
    let waitSamples = 0;
    for (let tick = 0; ; tick++) {
      await sleep(250);
      const states = await runStates(reader, ['fleet']);
      const done = Object.entries(states).reduce((n, [s, c]) => n + (TERMINAL.has(s) ? c : 0), 0);
      if (done >= o.runs) break;
      if (tick % 2 === 0) await sampleReadyAt(reader, sampled);
      // A few looks at what the API says the waiting tasks wait for (runs spread over the start order).
      if (waitSamples < 6 && Date.now() - lastWaitSample > 500) {
        lastWaitSample = Date.now();
        const id = ids[Math.floor(((waitSamples * 0.37 + 0.5) % 1) * ids.length)]!;
        waitSamples++;
        await tallyWaiting(p, id, base.waiting).catch(() => undefined);
      }
      if (Date.now() > until) {
        errors.push(`${o.runs - done} of ${o.runs} runs not finished after ${Math.round(o.timeoutMs / 1000)} s`);
        break;
      }
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(`  fleet ${kind}: ${done} / ${o.runs} runs finished`);
      }
    }
    base.queries = await queries.end();
    base.cpu = meter.end();
    base.machineCpu = machine.end();
    base.rssMb = readPeakRss({ platform: () => [platform.proc.pid!] });

    const rows = await readRows(reader, { jobNames: ['fleet'] });
    const dep = (_job: string, key: string) => deps.get(key) ?? [];
    const { items: raw, skipped } = readyToAssign(rows.runs, rows.tasks, rows.attempts, dep);
    // The runs were all created before any agent was there to take their roots.
    const items = raw.map((i) => (i.ready < connectAt ? { ...i, ready: connectAt } : i));
    const rebuilt = readyToAssign(rows.runs, rows.tasks, rows.attempts, dep, { preferStored: false }).items;
    base.readyCheck = checkReady(sampled, rebuilt);
    if (skipped > 0) errors.push(`${skipped} tasks left out of ready -> Assign (retried, or no ready time)`);
    const succeeded = rows.tasks.filter((x) => x.state === 'succeeded').length;
    queries.logShapes(log, kind, succeeded);
    let firstAssigned = Infinity;
    let lastFinished = -Infinity;
    for (const a of rows.attempts) {
      firstAssigned = Math.min(firstAssigned, a.assignedAt);
      if (a.finishedAt !== null) lastFinished = Math.max(lastFinished, a.finishedAt);
    }
    const busy = (lastFinished - firstAssigned) / 1000;
    const layer = (f: (i: ReadyAssign) => boolean) => latencies(items.filter(f));
    const notOk = rows.runs.filter((r) => r.state !== 'succeeded');
    if (notOk.length > 0) errors.push(`${notOk.length} runs did not succeed (e.g. ${notOk[0]!.id} ${notOk[0]!.state})`);
    return {
      ...base,
      ok: errors.length === 0,
      error: errors.length ? errors.join('; ') : undefined,
      succeededRuns: rows.runs.length - notOk.length,
      tasks: succeeded,
      busySeconds: busy,
      tasksPerSec: succeeded > 0 ? succeeded / busy : 0,
      runsPerSec: rows.runs.length > 0 ? (rows.runs.length - notOk.length) / busy : 0,
      runDuration: summarize(
        rows.runs.flatMap((r) => (r.finishedAt !== null ? [r.finishedAt - Math.max(r.createdAt, connectAt)] : [])),
      ),
      readyAssign: latencies(items),
      byLayer: {
        root: layer((i) => i.key === 'root'),
        middle: layer((i) => i.key.startsWith('m')),
        join: layer((i) => i.key === 'join'),
      },
      turnaround: summarize(items.flatMap((i) => (i.finished !== null ? [i.finished - i.assigned] : []))),
    };
  } catch (err) {
    errors.push(`${err instanceof Error ? err.message : String(err)}${p ? `\nplatform log tail:\n${tail(p)}` : ''}`);
    const pid = p?.proc.pid;
    if (pid !== undefined && Object.keys(base.rssMb).length === 0) base.rssMb = readPeakRss({ platform: () => [pid] });
    return { ...base, ok: false, error: errors.join('; ') };
  } finally {
    await reader?.close().catch(() => undefined);
    for (const g of groups) await g.stop().catch(() => undefined);
    await p?.stop().catch(() => undefined);
    queries.cleanup();
    await t.cleanup();
  }
}
