import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readTestEnv } from '@baton/config';
import { testKafkaBrokers } from '@baton/testing';
import { type ChildAgents, startChildProcess } from './agents.js';
import { formatted } from './format.js';
import { describeMachine } from './machine.js';
import { TERMINAL, freshTarget, putJob } from './platform.js';
import { openReader, readRows } from './rows.js';
import { smallRunsDefinition, tallySlots } from './small-runs.js';
import { type Summary, fmt, sleep, summarize } from './stats.js';
import { type KafkaTopology, startKafkaTopology } from './topology.js';

/*
 * The scheduler fault run (issue 7, "Faults"): the production topology on
 * MariaDB and Kafka under cron load, with a scheduler replica killed
 * (`kill -9`) and started again `downS` later, every `everyS`, for `minutes`.
 * Measured from the stored rows: fire delay (slot -> run created) calm and
 * under the loop, slots missed and doubled, runs stuck, and task runs that
 * ran on two agents while no attempt of theirs was declared lost.
 *
 *   npm run bench:faults [-- --minutes 10 --every 20 --down 5 --jobs 40 --write]
 */

export interface KillLoopOptions {
  minutes: number;
  everyS: number;
  downS: number;
  /** Cron jobs, each a chain of 3 noop tasks every 2 s (jobs / 2 runs a second). */
  jobs: number;
  /** The calm window before the first kill. */
  calmS: number;
  schedulers: number;
  triggers: number;
}

export const KILL_LOOP_DEFAULTS: KillLoopOptions = {
  minutes: 10,
  everyS: 20,
  downS: 5,
  jobs: 40,
  calmS: 30,
  schedulers: 3,
  triggers: 2,
};

/** How long the last runs may take to finish after the loop. */
const SETTLE_MS = 60_000;
const WARMUP_MS = 10_000;
const AGENT_PROCESSES = 2;
const AGENT_SLOTS = 25;

export interface WindowFigures {
  expected: number;
  fired: number;
  missed: number;
  doubled: number;
  /** Runs of the window not finished SETTLE_MS after the loop. */
  stuck: number;
  failed: number;
  /** Slot (logical date) -> run created, ms. */
  fireDelay: Summary;
}

export interface KillLoopResult {
  at: string;
  options: KillLoopOptions;
  ok: boolean;
  error?: string;
  kills: number;
  /** Kill -> the replica ready again, ms (restarts are `downS` after the kill plus start-up). */
  restart: Summary;
  calm: WindowFigures;
  faults: WindowFigures;
  /** Task runs with two started attempts where the earlier was not lost, expired or timed out. */
  ranTwice: number;
  /** Attempts declared lost over the loop (their tasks retried). */
  lostAttempts: number;
}

export async function runKillLoop(
  brokers: string[],
  o: KillLoopOptions,
  log: (s: string) => void,
): Promise<KillLoopResult> {
  const t = await freshTarget('mariadb');
  let p: KafkaTopology | null = null;
  const agents: ChildAgents[] = [];
  let reader: Awaited<ReturnType<typeof openReader>> | null = null;
  const empty: WindowFigures = {
    expected: 0,
    fired: 0,
    missed: 0,
    doubled: 0,
    stuck: 0,
    failed: 0,
    fireDelay: summarize([]),
  };
  const base: KillLoopResult = {
    at: new Date().toISOString(),
    options: o,
    ok: false,
    kills: 0,
    restart: summarize([]),
    calm: empty,
    faults: empty,
    ranTwice: 0,
    lostAttempts: 0,
  };
  try {
    p = await startKafkaTopology(t, brokers, { schedulers: o.schedulers, triggers: o.triggers });
    const topo = p;
    const token = await p.agentToken();
    for (let g = 0; g < AGENT_PROCESSES; g++) {
      agents.push(
        await startChildProcess({ server: p.agentServer(g), token, names: [`kill-${g}`], slots: AGENT_SLOTS }),
      );
    }
    const names = Array.from({ length: o.jobs }, (_, i) => `kill-${String(i).padStart(3, '0')}`);
    for (const [i, name] of names.entries()) await putJob(p, name, smallRunsDefinition(i));
    reader = await openReader(t);
    const c0 = Math.ceil((Date.now() + WARMUP_MS) / 1000) * 1000;
    const c1 = c0 + o.calmS * 1000;
    const f1 = c1 + o.minutes * 60_000;
    log(
      `  kill-loop: ${o.jobs} jobs; calm from ${new Date(c0).toISOString()}, kills from ${new Date(c1).toISOString()}`,
    );
    await sleep(c1 - Date.now());
    const restarts: number[] = [];
    for (let k = 0; Date.now() + o.everyS * 1000 <= f1 + 1; k++) {
      const tick = Date.now();
      const i = k % topo.schedulerCount;
      await topo.killScheduler(i);
      base.kills++;
      await sleep(o.downS * 1000);
      await topo.restartScheduler(i);
      restarts.push(Date.now() - tick);
      if (base.kills % 5 === 0) log(`  kill-loop: ${base.kills} kills`);
      await sleep(Math.max(0, tick + o.everyS * 1000 - Date.now()));
    }
    await sleep(Math.max(0, f1 - Date.now()));
    base.restart = summarize(restarts);

    const figures = async (w0: number, w1: number): Promise<WindowFigures> => {
      const rows = await readRows(reader!, { jobNames: names, logicalFrom: w0, logicalTo: w1 });
      const tally = tallySlots(names, rows.runs, w0, w1);
      return {
        ...tally,
        fired: rows.runs.length,
        stuck: rows.runs.filter((r) => !TERMINAL.has(r.state)).length,
        failed: rows.runs.filter((r) => TERMINAL.has(r.state) && r.state !== 'succeeded').length,
        fireDelay: summarize(rows.runs.map((r) => r.createdAt - r.logicalDate)),
      };
    };
    // The loop's last runs finish (bounded), then the rows are read.
    for (const until = Date.now() + SETTLE_MS; Date.now() < until; await sleep(1_000)) {
      if ((await figures(c0, f1)).stuck === 0) break;
    }
    base.calm = await figures(c0, c1);
    base.faults = await figures(c1, f1);
    const twice = (await reader.manager.query(
      `SELECT COUNT(*) AS n FROM (
         SELECT a.task_run_id FROM attempts a JOIN runs r ON r.id = a.run_id
         WHERE r.job_name LIKE 'kill-%' AND a.started_at IS NOT NULL AND a.kind = 'main'
         GROUP BY a.task_run_id
         HAVING COUNT(*) > 1 AND SUM(CASE WHEN a.state IN ('lost', 'expired', 'timed_out') THEN 1 ELSE 0 END) < COUNT(*) - 1
       ) x`,
    )) as Array<{ n: number | string }>;
    base.ranTwice = Number(twice[0]!.n);
    const lost = (await reader.manager.query(
      "SELECT COUNT(*) AS n FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.job_name LIKE 'kill-%' AND a.state = 'lost'",
    )) as Array<{ n: number | string }>;
    base.lostAttempts = Number(lost[0]!.n);
    const errors: string[] = [];
    const f = base.faults;
    if (f.missed || f.doubled || f.stuck) errors.push(`${f.missed} missed, ${f.doubled} doubled, ${f.stuck} stuck`);
    if (base.ranTwice) errors.push(`${base.ranTwice} task runs ran twice without a lost attempt`);
    if (!(f.fireDelay.p99 <= 2_000)) errors.push(`fire delay p99 ${fmt(f.fireDelay.p99)} ms > 2,000 ms`);
    return { ...base, ok: errors.length === 0, error: errors.length ? errors.join('; ') : undefined };
  } catch (err) {
    const tailOf = p ? `\n${p.tail()}` : '';
    return { ...base, ok: false, error: `${err instanceof Error ? err.message : String(err)}${tailOf}` };
  } finally {
    await reader?.close().catch(() => undefined);
    for (const a of agents) await a.stop().catch(() => undefined);
    await p?.stop().catch(() => undefined);
    await t.cleanup();
  }
}

const window = (w: WindowFigures) =>
  `| ${fmt(w.fired)} / ${fmt(w.expected)} | ${fmt(w.fireDelay.p50, 0)} / ${fmt(w.fireDelay.p99, 0)} / ${fmt(w.fireDelay.max, 0)} | ${w.missed} / ${w.doubled} / ${w.stuck} | ${w.failed} |`;

export function killLoopMarkdown(r: KillLoopResult, machine: string): string {
  const o = r.options;
  return `# Faults: a scheduler replica killed every ${o.everyS} s

Generated by \`npm run bench:faults -- --write\` (tools/bench/src/kill-loop.ts) on ${r.at}. ${machine}

The production topology on MariaDB and a KRaft Kafka broker: tenancy, catalog, ${o.triggers} trigger and
${o.schedulers} scheduler replicas, each its own process, production timings (heartbeat 5 s, lease 30 s, sweep
1 s). Load: ${o.jobs} cron jobs, each a chain of 3 noop tasks every 2 s (${o.jobs / 2} runs/s), over ${AGENT_PROCESSES}
agent processes of ${AGENT_SLOTS} slots, each with all scheduler replicas as its \`--server\` failover list.
After a calm window of ${o.calmS} s, scheduler replica k mod ${o.schedulers} is killed with \`kill -9\` every
${o.everyS} s and started again ${o.downS} s later, for ${o.minutes} minutes. Figures come from the stored rows: fire
delay = run \`created_at\` − slot; stuck = a run of the window not finished ${SETTLE_MS / 1000} s after the loop.

| window | runs / slots | fire delay p50 / p99 / max (ms) | missed / doubled / stuck | failed |
| ------ | ------------ | ------------------------------- | ------------------------ | ------ |
| calm   ${window(r.calm)}
| kills  ${window(r.faults)}

- kills: ${r.kills}; kill → replica ready again p50 ${fmt(r.restart.p50 / 1000)} s, max ${fmt(r.restart.max / 1000)} s
- task runs that ran on two agents without an attempt declared lost: ${r.ranTwice}; attempts declared lost: ${r.lostAttempts}
- target (issue 7): fire delay p99 ≤ 2 s under the loop, 0 missed, 0 doubled, 0 stuck, no task run twice without a lost attempt: **${r.ok ? 'met' : `not met${r.error ? ` (${r.error.split('\n')[0]})` : ''}`}**

**Why it holds.** Run requests are rows of \`run_requests\` that every scheduler replica claims with
\`SELECT … FOR UPDATE SKIP LOCKED\`; the \`run.requested\` events on Kafka only wake them (each replica
reads them in a consumer group of its own, so a kill causes no rebalance of the run requests). A replica
killed mid-batch loses its connection and MariaDB rolls its transaction back at once, releasing the rows
to the next replica's wake-up or its 1 s sweep. Before this change requests were consumed from the
\`run-requests\` topic by one shared consumer group, so a dead member's partitions waited for its session
to time out and the group rebalanced almost continuously: fire delay p50 15 s, p99 66 s, max 69 s under
the same loop.
`;
}

function parse(argv: string[]): { o: KillLoopOptions; write: boolean } {
  const o = { ...KILL_LOOP_DEFAULTS };
  let write = false;
  const flags: Record<string, keyof KillLoopOptions> = {
    '--minutes': 'minutes',
    '--every': 'everyS',
    '--down': 'downS',
    '--jobs': 'jobs',
    '--calm': 'calmS',
    '--schedulers': 'schedulers',
    '--triggers': 'triggers',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--write') write = true;
    else if (flags[a]) {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number, got ${argv[i] ?? 'nothing'}`);
      o[flags[a]] = v;
    } else throw new Error(`unknown option ${a}; options: ${Object.keys(flags).join(' N, ')} N, --write`);
  }
  if (o.downS >= o.everyS) throw new Error('--down must be shorter than --every');
  if (o.schedulers < 2) throw new Error('--schedulers must be at least 2 (one is always killed)');
  return { o, write };
}

async function main(): Promise<void> {
  const { o, write } = parse(process.argv.slice(2));
  const brokers = await testKafkaBrokers().catch(() => null);
  if (!brokers) throw new Error('no Kafka broker (start one with deploy/local/kafka-start.sh)');
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const r = await runKillLoop(brokers, o, log);
  const m = await describeMachine(readTestEnv().mysqlUrl);
  const md = killLoopMarkdown(
    r,
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GiB, Node.js ${m.node}, ${m.mariadb}; everything shares these cores.`,
  );
  process.stdout.write(md);
  const results = resolve(__dirname, '../results/kill-loop.json');
  writeFileSync(results, await formatted(results, JSON.stringify(r, null, 2)));
  const doc = resolve(__dirname, '../../../docs/faults.md');
  if (write) writeFileSync(doc, await formatted(doc, md));
  if (!r.ok) process.exitCode = 1;
}

if (require.main === module) {
  main().then(
    () => process.exit(),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
