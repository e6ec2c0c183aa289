import type { Platform } from '@baton/testing';
import { type ChildAgents, connectAll, startAgentProcesses } from './agents.js';
import {
  type JainResult,
  type ReadyAssign,
  checkReady,
  depsOf,
  jainOverSaturatedWindows,
  latencies,
  peakInFlight,
  readyToAssign,
} from './analysis.js';
import { CpuMeter, MachineCpuMeter, pidsByName, readPeakRss } from './machine.js';
import {
  type ApiTarget,
  type DbKind,
  TERMINAL,
  agentTokenOf,
  createTenant,
  freshTarget,
  launch,
  putJob,
  setDispatchWeight,
  startRun,
  startRuns,
  tail,
  tallyWaiting,
} from './platform.js';
import { QueryCounter, type StatementCounts } from './queries.js';
import { openReader, readRows, runStates, sampleReadyAt } from './rows.js';
import { type Summary, sleep, summarize } from './stats.js';

export const FAIRNESS_FLOOD = 10_000;
export const FAIRNESS_B_RATE = 10;
export const FAIRNESS_ALONE_S = 20;
/** Agent connections of each flooding tenant (A, C) and their slots. */
export const FAIRNESS_AGENTS = 2;
export const FAIRNESS_SLOTS = 500;
/** Tenant B's agent: one connection. */
export const FAIRNESS_B_SLOTS = 50;
export const FAIRNESS_WINDOW_MS = 1_000;
/** Tasks per flood run (all independent, all ready when the run is created). */
export const FLOOD_WIDTH = 100;
/** The weight every tenant gets (PUT /api/v1/tenants/{id}/quota): equal weights. */
export const FAIRNESS_WEIGHT = 1;

export interface FairnessOptions {
  flood: number;
  bRate: number;
  aloneSeconds: number;
  agents: number;
  slots: number;
  windowMs: number;
  timeoutMs: number;
}

export interface FairnessResult {
  db: DbKind;
  flood: number;
  bRate: number;
  aloneSeconds: number;
  agents: number;
  slots: number;
  ok: boolean;
  error?: string;
  /** Tenant B's ready -> Assign alone (phase 1) and while A's flood had tasks waiting (phase 2). */
  bAlone: Summary;
  bFlooded: Summary;
  /** bFlooded.p99 / bAlone.p99. */
  p99Ratio: number;
  /** B under flood split: its runs' first task (ready at run creation) and the two after it (ready when its result is applied). */
  bFloodedRoot?: Summary;
  bFloodedDownstream?: Summary;
  /** Phase 2: A's flood, first task ready -> last task assigned, and its rate. */
  floodSeconds: number;
  floodTasksPerSec: number;
  /** Phase 3: C and D flood at once; Jain's index over their assignments per window. */
  jain: JainResult;
  /** Phase 3: tasks/s of C and D together (first assigned -> last finished). */
  saturatedTasksPerSec: number;
  /** Phase 3: the first assignment batches (same assigned_at), as [ms after the agents' connect, tenant, tasks]. */
  firstBatches?: Array<[number, string, number]>;
  /** Phase 3: most attempts in flight at once per flooding tenant, against its slots. */
  peakInFlight: { c: number; d: number; slotsEach: number };
  readyCheck: { sampled: number; compared: number; equal: number; maxDiffMs: number };
  /** waitingReason tallies from GET /api/v1/runs/{id} during the floods, by tenant. */
  waiting: {
    a: Record<string, number>;
    b: Record<string, number>;
    c: Record<string, number>;
    d: Record<string, number>;
  };
  queries: StatementCounts | null;
  tasks: number;
  cpu: Record<string, number>;
  machineCpu: number;
  rssMb: Record<string, number>;
}

export function floodDefinition(width: number) {
  return {
    description: `benchmark: ${width} independent noop tasks`,
    tasks: Array.from({ length: width }, (_, i) => ({ key: `f${String(i).padStart(3, '0')}`, type: 'noop' })),
  };
}

export function smallDefinition() {
  return {
    description: 'benchmark: a small run (one noop task, then two in parallel)',
    tasks: [
      { key: 's1', type: 'noop' },
      { key: 's2', type: 'noop', dependsOn: ['s1'] },
      { key: 's3', type: 'noop', dependsOn: ['s1'] },
    ],
  };
}

/** Flood runs: `flood` tasks in runs of FLOOD_WIDTH (the last one smaller). */
export function floodRuns(flood: number): number[] {
  const out: number[] = [];
  for (let left = flood; left > 0; left -= FLOOD_WIDTH) out.push(Math.min(FLOOD_WIDTH, left));
  return out;
}

/**
 * Four tenants of equal dispatch weight, each with agents of its own.
 * Phase 1: B starts `bRate` small runs a second for `aloneSeconds`. Phase 2: A
 * floods `flood` tasks (its runs started over the API as fast as it answers)
 * while B keeps going, until A's flood has finished. Phase 3 (B idle): C and D
 * queue `flood` tasks each, then their agents connect, so both are saturated
 * from the first instant. Timings from the rows.
 */
export async function runFairness(kind: DbKind, o: FairnessOptions, log: (s: string) => void): Promise<FairnessResult> {
  const t = await freshTarget(kind);
  const queries = new QueryCounter();
  const runsOfFlood = floodRuns(o.flood);
  const widths = [...new Set(runsOfFlood)];
  const small = smallDefinition();
  const smallDeps = depsOf(small);
  let p: Platform | null = null;
  const groups: ChildAgents[] = [];
  let reader: Awaited<ReturnType<typeof openReader>> | null = null;
  const empty = summarize([]);
  const base: FairnessResult = {
    db: kind,
    flood: o.flood,
    bRate: o.bRate,
    aloneSeconds: o.aloneSeconds,
    agents: o.agents,
    slots: o.slots,
    ok: false,
    bAlone: empty,
    bFlooded: empty,
    p99Ratio: NaN,
    floodSeconds: NaN,
    floodTasksPerSec: NaN,
    jain: jainOverSaturatedWindows([], [], o.windowMs, 0),
    saturatedTasksPerSec: NaN,
    peakInFlight: { c: 0, d: 0, slotsEach: o.agents * o.slots },
    readyCheck: { sampled: 0, compared: 0, equal: 0, maxDiffMs: 0 },
    waiting: { a: {}, b: {}, c: {}, d: {} },
    queries: null,
    tasks: 0,
    cpu: {},
    machineCpu: NaN,
    rssMb: {},
  };
  const errors: string[] = [];
  let bTicker: NodeJS.Timeout | null = null;
  const bStarts: Array<Promise<string | null>> = [];
  try {
    p = await launch(t, { queries });
    const platform = p;
    const tenants: Record<'a' | 'b' | 'c' | 'd', { id: string; api: ApiTarget }> = {
      a: await createTenant(p, 'bench-a'),
      b: await createTenant(p, 'bench-b'),
      c: await createTenant(p, 'bench-c'),
      d: await createTenant(p, 'bench-d'),
    };
    for (const x of Object.values(tenants)) await setDispatchWeight(p, x.id, FAIRNESS_WEIGHT);
    // C's and D's agents start now but connect only once both floods are queued (phase 3).
    const saturating: ChildAgents[] = [];
    for (const [name, x] of Object.entries(tenants)) {
      const token = await agentTokenOf(x.api);
      const started = await startAgentProcesses({
        server: p.grpc,
        token,
        prefix: `fair-${name}`,
        connections: name === 'b' ? 1 : o.agents,
        slots: name === 'b' ? FAIRNESS_B_SLOTS : o.slots,
        defer: name === 'c' || name === 'd',
      });
      groups.push(...started);
      if (name === 'c' || name === 'd') saturating.push(...started);
    }
    for (const w of widths) {
      for (const n of ['a', 'c', 'd'] as const) await putJob(tenants[n].api, `flood-${n}-${w}`, floodDefinition(w));
    }
    await putJob(tenants.b.api, 'small-b', small);
    const floodA = widths.map((w) => `flood-a-${w}`);
    const floodC = widths.map((w) => `flood-c-${w}`);
    const floodD = widths.map((w) => `flood-d-${w}`);
    const depsFor = (job: string, key: string) => (job === 'small-b' ? (smallDeps.get(key) ?? []) : []);
    reader = await openReader(t);
    const db = reader;
    const sampled = new Map<string, number>();

    /** Starts one flood: its runs, a few requests at a time; ids as they come. */
    const flood = (x: { api: ApiTarget }, prefix: string, started: string[]) =>
      Promise.all(
        widths.map((w) =>
          startRuns(x.api, `${prefix}-${w}`, runsOfFlood.filter((n) => n === w).length, 8, (id) => started.push(id)),
        ),
      );
    /** Waits until every run of these jobs has ended; samples ready_at and waiting reasons meanwhile. */
    const drain = async (
      jobs: string[],
      expected: number,
      what: string,
      looks: Array<{ api: ApiTarget; ids: string[]; into: Record<string, number> }>,
    ) => {
      const until = Date.now() + o.timeoutMs;
      let lastLook = 0;
      let lookCount = 0;
      for (let tick = 0; ; tick++) {
        await sleep(250);
        const states = await runStates(db, jobs);
        const done = Object.entries(states).reduce((n, [s, c]) => n + (TERMINAL.has(s) ? c : 0), 0);
        if (done >= expected) return;
        if (tick % 2 === 0) await sampleReadyAt(db, sampled);
        if (lookCount < 4 && Date.now() - lastLook > 1_000) {
          lastLook = Date.now();
          lookCount++;
          for (const l of looks) {
            const id = l.ids[l.ids.length - 1];
            if (id) await tallyWaiting(l.api, id, l.into).catch(() => undefined);
          }
        }
        if (Date.now() > until) {
          errors.push(`${what}: ${expected - done} of ${expected} runs not finished after ${o.timeoutMs / 1000} s`);
          return;
        }
      }
    };

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

    // Phase 1: B alone.
    const bIds: string[] = [];
    const aloneFrom = Date.now();
    bTicker = setInterval(() => {
      bStarts.push(
        startRun(tenants.b.api, 'small-b').then(
          (id) => (bIds.push(id), id),
          (err: unknown) => (errors.push(`B run: ${err instanceof Error ? err.message : String(err)}`), null),
        ),
      );
    }, 1000 / o.bRate);
    log(`  fairness ${kind}: B alone, ${o.bRate} runs/s for ${o.aloneSeconds} s`);
    await sleep(o.aloneSeconds * 1000);
    const aloneTo = Date.now();

    // Phase 2: A floods while B keeps going.
    log(`  fairness ${kind}: A floods ${o.flood} tasks (${runsOfFlood.length} runs) while B keeps going`);
    const floodFrom = Date.now();
    const aIds: string[] = [];
    await flood(tenants.a, 'flood-a', aIds);
    await drain(floodA, runsOfFlood.length, 'A flood', [
      { api: tenants.a.api, ids: aIds, into: base.waiting.a },
      { api: tenants.b.api, ids: bIds, into: base.waiting.b },
    ]);
    clearInterval(bTicker);
    bTicker = null;
    await Promise.all(bStarts);
    await drain(['small-b'], bIds.length, 'B runs', []);

    // Phase 3: C and D flood at once: both floods queued, then their agents connect.
    log(`  fairness ${kind}: C and D flood ${o.flood} tasks each at once`);
    const cIds: string[] = [];
    const dIds: string[] = [];
    await Promise.all([flood(tenants.c, 'flood-c', cIds), flood(tenants.d, 'flood-d', dIds)]);
    const satFrom = Date.now();
    await connectAll(saturating);
    await drain([...floodC, ...floodD], 2 * runsOfFlood.length, 'C and D floods', [
      { api: tenants.c.api, ids: cIds, into: base.waiting.c },
      { api: tenants.d.api, ids: dIds, into: base.waiting.d },
    ]);

    base.queries = await queries.end();
    base.cpu = meter.end();
    base.machineCpu = machine.end();
    base.rssMb = readPeakRss({ platform: () => [platform.proc.pid!] });

    const rows = await readRows(db, { jobNames: ['small-b', ...floodA, ...floodC, ...floodD] });
    const { items, skipped } = readyToAssign(rows.runs, rows.tasks, rows.attempts, depsFor);
    const rebuilt = readyToAssign(rows.runs, rows.tasks, rows.attempts, depsFor, { preferStored: false }).items;
    base.readyCheck = checkReady(sampled, rebuilt);
    if (skipped > 0) errors.push(`${skipped} tasks left out of ready -> Assign (retried, or no ready time)`);
    const notOk = rows.runs.filter((r) => r.state !== 'succeeded');
    if (notOk.length > 0) errors.push(`${notOk.length} runs did not succeed (e.g. ${notOk[0]!.id} ${notOk[0]!.state})`);
    base.tasks = rows.tasks.filter((x) => x.state === 'succeeded').length;

    const of = (tenant: string, from: number, to: number) =>
      items.filter((i) => i.tenantId === tenant && i.ready >= from && i.ready < to);
    const span = (list: readonly ReadyAssign[]) => ({
      from: list.reduce((m, i) => Math.min(m, i.ready), Infinity),
      firstAssigned: list.reduce((m, i) => Math.min(m, i.assigned), Infinity),
      lastAssigned: list.reduce((m, i) => Math.max(m, i.assigned), -Infinity),
      lastFinished: list.reduce((m, i) => Math.max(m, i.finished ?? -Infinity), -Infinity),
    });
    // Phase 2: while A had tasks waiting (its first task ready -> its last task assigned).
    const aFlood = of(tenants.a.id, floodFrom, Infinity);
    const bAlone = of(tenants.b.id, aloneFrom, aloneTo);
    base.bAlone = latencies(bAlone);
    if (aFlood.length > 0) {
      const s = span(aFlood);
      base.floodSeconds = (s.lastAssigned - s.from) / 1000;
      base.floodTasksPerSec = aFlood.length / ((s.lastFinished - s.firstAssigned) / 1000);
      const flooded = of(tenants.b.id, s.from, s.lastAssigned + 1);
      base.bFlooded = latencies(flooded);
      base.bFloodedRoot = latencies(flooded.filter((i) => i.key === 's1'));
      base.bFloodedDownstream = latencies(flooded.filter((i) => i.key !== 's1'));
    }
    base.p99Ratio = base.bFlooded.p99 / base.bAlone.p99;
    // Phase 3: both floods (all their tasks were ready before their agents were told to connect).
    const sat = items.filter((i) => i.tenantId === tenants.c.id || i.tenantId === tenants.d.id);
    const batches = new Map<string, [number, string, number]>();
    for (const i of sat) {
      const who = i.tenantId === tenants.c.id ? 'C' : 'D';
      const b = batches.get(`${i.assigned}|${who}`) ?? [i.assigned - satFrom, who, 0];
      b[2]++;
      batches.set(`${i.assigned}|${who}`, b);
    }
    base.firstBatches = [...batches.values()].sort((a, b) => a[0] - b[0]).slice(0, 8);
    const firstOf = (tenant: string) =>
      sat.reduce((m, i) => (i.tenantId === tenant ? Math.min(m, i.assigned) : m), Infinity);
    // Windows start just after the later of the two tenants' first assignment batches: each tenant's first batch fills
    // its idle agents as they connect (whichever connects first takes whole batches while the other has nowhere to run),
    // which says nothing about the shares.
    const jainFrom = Math.max(satFrom, firstOf(tenants.c.id), firstOf(tenants.d.id)) + 1;
    base.jain = jainOverSaturatedWindows(
      sat,
      [tenants.c.id, tenants.d.id],
      o.windowMs,
      Number.isFinite(jainFrom) ? jainFrom : satFrom,
    );
    // Name the tenants in the saved result, not by id.
    base.jain.perTenant = {
      C: base.jain.perTenant[tenants.c.id] ?? 0,
      D: base.jain.perTenant[tenants.d.id] ?? 0,
    };
    if (sat.length > 0) {
      const s = span(sat);
      base.saturatedTasksPerSec = sat.length / ((s.lastFinished - s.firstAssigned) / 1000);
    }
    const peaks = peakInFlight(sat);
    base.peakInFlight = {
      c: peaks.get(tenants.c.id) ?? 0,
      d: peaks.get(tenants.d.id) ?? 0,
      slotsEach: o.agents * o.slots,
    };
    if (bAlone.length === 0) errors.push('no B task became ready in phase 1');
    if (base.bFlooded.n === 0) errors.push('no B task became ready while A had tasks waiting');
    if (base.jain.windows === 0) errors.push('no window in which both C and D had tasks waiting');
    return { ...base, ok: errors.length === 0, error: errors.length ? errors.join('; ') : undefined };
  } catch (err) {
    errors.push(`${err instanceof Error ? err.message : String(err)}${p ? `\nplatform log tail:\n${tail(p)}` : ''}`);
    const pid = p?.proc.pid;
    if (pid !== undefined && Object.keys(base.rssMb).length === 0) base.rssMb = readPeakRss({ platform: () => [pid] });
    return { ...base, ok: false, error: errors.join('; ') };
  } finally {
    if (bTicker) clearInterval(bTicker);
    await Promise.allSettled(bStarts);
    await reader?.close().catch(() => undefined);
    for (const g of groups) await g.stop().catch(() => undefined);
    await p?.stop().catch(() => undefined);
    queries.cleanup();
    await t.cleanup();
  }
}
