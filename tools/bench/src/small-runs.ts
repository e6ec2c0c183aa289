import { startAgentProcesses } from './agents.js';
import { depsOf, latencies, readyToAssign } from './analysis.js';
import { type FanoutPlatform, standalone } from './fanout.js';
import { CpuMeter, MachineCpuMeter, pidsByName, readPeakRss } from './machine.js';
import { type BenchTarget, type DbKind, TERMINAL, freshTarget, launch, putJob } from './platform.js';
import { QueryCounter, type StatementCounts } from './queries.js';
import { type KafkaTopology, startKafkaTopology } from './topology.js';
import { openReader, readRows } from './rows.js';
import { type Summary, sleep, summarize } from './stats.js';

export const SMALL_JOBS = 100;
/** Every job fires every PERIOD_S seconds; job i at the seconds with parity i % 2. */
export const SMALL_PERIOD_S = 2;
export const SMALL_SECONDS = 30;
/** From the last job's PUT to the window: the trigger loop picks the triggers up (poll 5 s) and warms up. */
export const SMALL_WARMUP_S = 8;
export const SMALL_TASKS = 3;
export const SMALL_AGENTS = 2;
export const SMALL_SLOTS = 25;
/** On the topology: scheduler and trigger replicas, and agents enough to spread over the schedulers (54 slots). */
export const SMALL_TOPOLOGY = { schedulers: 3, triggers: 2, agents: 6, slots: 9 };
/** How long the window's last runs may take to finish. */
const SETTLE_MS = 30_000;
/** Before any job exists: the platform's and the machine's own background, for comparison. */
export const SMALL_IDLE_S = 3;

export interface SmallRunsOptions {
  jobs: number;
  seconds: number;
}

export interface SmallRunsResult {
  db: DbKind;
  /** The standalone platform (one process), or the production topology on Kafka (absent in older results). */
  shape?: 'standalone' | 'kafka';
  /** On the topology: agents connected to each scheduler replica at the end of the window. */
  agentsByReplica?: Record<string, number>;
  jobs: number;
  windowSeconds: number;
  windowStart: string;
  ok: boolean;
  error?: string;
  /** Slots due in the window, runs created for them, slots with no run, extra runs. */
  expected: number;
  fired: number;
  missed: number;
  doubled: number;
  succeeded: number;
  runsPerSec: number;
  tasksPerSec: number;
  /** Run started_at (created_at if it never waited) -> finished_at. */
  runDuration: Summary;
  /** Slot (logical date) -> run finished_at. */
  slotToDone: Summary;
  /** Run started_at (created_at before it started) - logical date. */
  fireDelay: Summary;
  readyAssign: Summary;
  /** Statements the platform sent over the window, and the tasks that finished in it. */
  queries: StatementCounts | null;
  tasksFinishedInWindow: number;
  /** The same platform with its agents connected and no job yet, over SMALL_IDLE_S: statements/s and machine CPU. */
  idleStatementsPerSec: number;
  idleMachineCpu: number;
  cpu: Record<string, number>;
  machineCpu: number;
  rssMb: Record<string, number>;
}

/** Job i's trigger: every 2 s, at the even (i even) or odd (i odd) seconds, so jobs / 2 runs start each second. */
export function smallCron(i: number): string {
  return `${i % SMALL_PERIOD_S}/${SMALL_PERIOD_S} * * * * *`;
}

export function smallRunsDefinition(i: number) {
  const key = (k: number) => `c${k + 1}`;
  return {
    description: `benchmark: a chain of ${SMALL_TASKS} noop tasks every ${SMALL_PERIOD_S} s`,
    triggers: [{ type: 'cron', cron: smallCron(i), timezone: 'UTC' }],
    tasks: Array.from({ length: SMALL_TASKS }, (_, k) => ({
      key: key(k),
      type: 'noop',
      ...(k > 0 ? { dependsOn: [key(k - 1)] } : {}),
    })),
  };
}

/** The slots of job i in [w0, w1) (ms, whole seconds). */
export function smallSlots(i: number, w0: number, w1: number): number[] {
  const out: number[] = [];
  for (let at = Math.ceil(w0 / 1000) * 1000; at < w1; at += 1000) {
    if ((at / 1000) % SMALL_PERIOD_S === i % SMALL_PERIOD_S) out.push(at);
  }
  return out;
}

/**
 * Slots of jobs `names` (job i fires as `smallCron(i)`) due in [w0, w1),
 * against the runs found for them: slots with no run, and runs beyond one
 * per slot or off the slots.
 */
export function tallySlots(
  names: readonly string[],
  runs: ReadonlyArray<{ jobName: string; logicalDate: number }>,
  w0: number,
  w1: number,
): { expected: number; missed: number; doubled: number } {
  const byJob = new Map<string, Map<number, number>>();
  for (const r of runs) {
    const m = byJob.get(r.jobName) ?? new Map<number, number>();
    m.set(r.logicalDate, (m.get(r.logicalDate) ?? 0) + 1);
    byJob.set(r.jobName, m);
  }
  let expected = 0;
  let missed = 0;
  let doubled = 0;
  for (const [i, name] of names.entries()) {
    const want = smallSlots(i, w0, w1);
    const got = byJob.get(name) ?? new Map<number, number>();
    expected += want.length;
    for (const at of want) if (!got.has(at)) missed++;
    for (const [at, n] of got) doubled += want.includes(at) ? n - 1 : n;
  }
  return { expected, missed, doubled };
}

/** A platform the small-runs window runs on, counting its statements with `queries`. */
type SmallStart = (t: BenchTarget, queries: QueryCounter) => Promise<FanoutPlatform & Partial<KafkaTopology>>;

/** Small runs on the standalone platform (one process). */
export function runSmallRuns(kind: DbKind, o: SmallRunsOptions, log: (s: string) => void): Promise<SmallRunsResult> {
  const fleet = { agents: SMALL_AGENTS, slots: SMALL_SLOTS };
  return runSmallRunsOn(kind, o, log, 'standalone', fleet, async (t, queries) =>
    standalone(await launch(t, { queries })),
  );
}

/** Small runs on the production topology: MariaDB, Kafka, SMALL_TOPOLOGY's replicas (scenario small-runs-kafka). */
export function runSmallRunsKafka(
  brokers: string[],
  o: SmallRunsOptions,
  log: (s: string) => void,
): Promise<SmallRunsResult> {
  const { schedulers, triggers, agents, slots } = SMALL_TOPOLOGY;
  return runSmallRunsOn('mariadb', o, log, 'kafka', { agents, slots }, (t, queries) =>
    startKafkaTopology(t, brokers, { schedulers, triggers, queries }),
  );
}

/**
 * `jobs` cron jobs (PUT through the API), each a chain of 3 noop tasks firing
 * every 2 s; measured over a `seconds` window after a warm-up.
 */
async function runSmallRunsOn(
  kind: DbKind,
  o: SmallRunsOptions,
  log: (s: string) => void,
  shape: 'standalone' | 'kafka',
  fleet: { agents: number; slots: number },
  start: SmallStart,
): Promise<SmallRunsResult> {
  const t = await freshTarget(kind);
  const queries = new QueryCounter();
  let p: (FanoutPlatform & Partial<KafkaTopology>) | null = null;
  let groups: Array<{ pid: number; stop(): Promise<void> }> = [];
  let reader: Awaited<ReturnType<typeof openReader>> | null = null;
  const empty = summarize([]);
  const base: SmallRunsResult = {
    db: kind,
    shape,
    jobs: o.jobs,
    windowSeconds: o.seconds,
    windowStart: '',
    ok: false,
    expected: 0,
    fired: 0,
    missed: 0,
    doubled: 0,
    succeeded: 0,
    runsPerSec: NaN,
    tasksPerSec: NaN,
    runDuration: empty,
    slotToDone: empty,
    fireDelay: empty,
    readyAssign: empty,
    queries: null,
    tasksFinishedInWindow: 0,
    idleStatementsPerSec: NaN,
    idleMachineCpu: NaN,
    cpu: {},
    machineCpu: NaN,
    rssMb: {},
  };
  const errors: string[] = [];
  try {
    p = await start(t, queries);
    const platform = p;
    const token = await p.agentToken();
    // Every agent gets the whole --server list (on the topology, each starts at the replica its name hashes to).
    groups = await startAgentProcesses({
      server: p.agentServer(0),
      token,
      prefix: 'small',
      connections: fleet.agents,
      slots: fleet.slots,
    });
    // Let the start-up (platform, agent processes) settle first.
    await sleep(2_000);
    const idle = new MachineCpuMeter();
    await queries.begin();
    idle.begin();
    await sleep(SMALL_IDLE_S * 1000);
    base.idleMachineCpu = idle.end();
    base.idleStatementsPerSec = ((await queries.end())?.total ?? NaN) / SMALL_IDLE_S;
    const names = Array.from({ length: o.jobs }, (_, i) => `small-${String(i).padStart(3, '0')}`);
    for (const [i, name] of names.entries()) await putJob(p, name, smallRunsDefinition(i));
    const deps = depsOf(smallRunsDefinition(0));
    reader = await openReader(t);
    const w0 = Math.ceil((Date.now() + SMALL_WARMUP_S * 1000) / 1000) * 1000;
    const w1 = w0 + o.seconds * 1000;
    base.windowStart = new Date(w0).toISOString();
    log(`  small-runs ${kind}: ${o.jobs} jobs put; measuring ${base.windowStart} + ${o.seconds} s`);
    const meter = new CpuMeter({
      ...platform.cpu,
      agents: () => groups.map((g) => g.pid),
      bench: () => [process.pid],
      ...(kind === 'mariadb' ? { mariadbd: () => pidsByName('mariadbd', 'mysqld') } : {}),
    });
    const machine = new MachineCpuMeter();
    await sleep(w0 - Date.now());
    // Nothing of the bench's own runs in the window but these meters (no polling).
    await queries.begin();
    meter.begin();
    machine.begin();
    await sleep(w1 - Date.now());
    base.queries = await queries.end();
    base.cpu = meter.end();
    base.machineCpu = machine.end();
    if (platform.agentsByReplica) base.agentsByReplica = platform.agentsByReplica();
    const finishedIn = (await reader.manager.query(
      'SELECT COUNT(*) AS n FROM attempts WHERE finished_at >= ? AND finished_at < ?',
      [w0, w1],
    )) as Array<{ n: number | string }>;
    base.tasksFinishedInWindow = Number(finishedIn[0]!.n);
    // A statement profile of the window (BENCH_QUERY_SHAPES=1): per finished task, the most frequent first.
    queries.logShapes(log, kind, base.tasksFinishedInWindow);

    // Let the window's last runs finish (bounded).
    const filter = { jobNames: names, logicalFrom: w0, logicalTo: w1 };
    let rows = await readRows(reader, filter);
    for (const until = Date.now() + SETTLE_MS; Date.now() < until;) {
      if (rows.runs.every((r) => TERMINAL.has(r.state))) break;
      await sleep(500);
      rows = await readRows(reader, filter);
    }
    base.rssMb = readPeakRss(platform.memory);

    const { expected, missed, doubled } = tallySlots(names, rows.runs, w0, w1);
    const notDone = rows.runs.filter((r) => !TERMINAL.has(r.state)).length;
    const succeeded = rows.runs.filter((r) => r.state === 'succeeded').length;
    if (missed) errors.push(`${missed} slots missed`);
    if (doubled) errors.push(`${doubled} runs doubled or off their slots`);
    if (notDone) errors.push(`${notDone} runs of the window not finished ${SETTLE_MS / 1000} s after it`);
    if (succeeded + notDone < rows.runs.length) errors.push(`${rows.runs.length - succeeded - notDone} runs failed`);
    const { items } = readyToAssign(rows.runs, rows.tasks, rows.attempts, (_job, key) => deps.get(key) ?? []);
    const done = rows.runs.filter((r) => r.finishedAt !== null);
    return {
      ...base,
      ok: errors.length === 0,
      error: errors.length ? errors.join('; ') : undefined,
      expected,
      fired: rows.runs.length,
      missed,
      doubled,
      succeeded,
      runsPerSec: rows.runs.length / o.seconds,
      tasksPerSec: rows.tasks.filter((x) => x.state === 'succeeded').length / o.seconds,
      runDuration: summarize(done.map((r) => r.finishedAt! - (r.startedAt ?? r.createdAt))),
      slotToDone: summarize(done.map((r) => r.finishedAt! - r.logicalDate)),
      fireDelay: summarize(rows.runs.map((r) => (r.startedAt ?? r.createdAt) - r.logicalDate)),
      readyAssign: latencies(items),
    };
  } catch (err) {
    errors.push(`${err instanceof Error ? err.message : String(err)}${p ? `\nplatform log tail:\n${p.tail()}` : ''}`);
    if (p && Object.keys(base.rssMb).length === 0) base.rssMb = readPeakRss(p.memory);
    return { ...base, ok: false, error: errors.join('; ') };
  } finally {
    await reader?.close().catch(() => undefined);
    for (const g of groups) await g.stop().catch(() => undefined);
    await p?.stop().catch(() => undefined);
    queries.cleanup();
    await t.cleanup();
  }
}
