import { CHAIN_RUNS, CHAIN_TASKS, type ChainResult } from './chain.js';
import { CRON_TENANTS, type CronResult } from './cron.js';
import { AGENT_PROCESSES, CONNECTIONS_PER_PROCESS, type FanoutResult, SLOTS } from './fanout.js';
import { FAIRNESS_B_SLOTS, FAIRNESS_WEIGHT, FLOOD_WIDTH, type FairnessResult } from './fairness.js';
import { FLEET_PER_PROCESS, FLEET_SUBMITTERS, FLEET_WIDTH, type FleetResult } from './fleet.js';
import { type Machine, formatCpu, formatRss } from './machine.js';
import { perUnit } from './queries.js';
import {
  SMALL_AGENTS,
  SMALL_IDLE_S,
  SMALL_PERIOD_S,
  SMALL_SLOTS,
  SMALL_TASKS,
  SMALL_TOPOLOGY,
  SMALL_WARMUP_S,
  type SmallRunsResult,
} from './small-runs.js';
import { REPORTS_ATTEMPTS, type ReportsResult } from './reports.js';
import { PORTAL_GOAL_MS, type PortalResult } from './portal.js';
import { NOTES } from './notes.js';
import { SCHEDULER_REPLICAS } from './topology.js';
import { type GrpcResult, LATENCY_SAMPLES, PEER_CONCURRENCY, type PeerResult } from './peers.js';
import { fmt } from './stats.js';

export interface Results {
  startedAt: string;
  durationS: number;
  args: string;
  machine: Machine;
  chain: ChainResult[];
  fanout: FanoutResult[];
  /** Fan-out on MariaDB + Kafka with scheduler replicas (absent in results saved before it existed). */
  fanoutKafka?: FanoutResult | null;
  cron: CronResult[];
  /** The fleet, fairness and small-runs scenarios (absent in results saved before they existed). */
  fleet?: FleetResult[];
  fairness?: FairnessResult[];
  smallRuns?: SmallRunsResult[];
  /** The reports over run history (absent in results saved before it existed). */
  reports?: ReportsResult[];
  /** The portal's pages timed in Chromium (absent in results saved before it existed). */
  portal?: PortalResult[];
  grpc: GrpcResult | null;
  peers: PeerResult[];
  /** Problems that are not a scenario's own (e.g. MariaDB unreachable). */
  skipped: string[];
  notes: string[];
}

const yes = (b: boolean | null) => (b === null ? 'not measured' : b ? '**met**' : '**not met**');
const sec = (msv: number) => fmt(msv / 1000, 2);
const lat = (s: { p50: number; p99: number }) => `${fmt(s.p50)} / ${fmt(s.p99)}`;
const fail = (r: { ok: boolean; error?: string }) => (r.ok ? '' : ' (FAILED)');
const KAFKA_TOPOLOGY = `MariaDB + Kafka, ${SCHEDULER_REPLICAS} scheduler replicas`;
const where = (f: FanoutResult) => (f.topology === 'kafka' ? KAFKA_TOPOLOGY : f.db);
/** The standalone platform's peak RSS, MiB. */
const rss = (r: { rssMb?: Record<string, number> }) => fmt(r.rssMb?.platform, 0);
const lat3 = (s: { p50: number; p99: number; max: number }) => `${fmt(s.p50)} / ${fmt(s.p99)} / ${fmt(s.max)}`;
const tally = (t: Record<string, number>) =>
  Object.keys(t).length
    ? Object.entries(t)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : 'none';
/** Statements per task of the small-runs window (the platform's statements over it / tasks finished in it). */
const smallPerTask = (m: SmallRunsResult) =>
  m.queries?.total && m.tasksFinishedInWindow ? fmt(m.queries.total / m.tasksFinishedInWindow, 1) : 'n/a';
/** The production-topology small runs (scenario small-runs-kafka), and the standalone ones. */
const onTopology = (m: SmallRunsResult) => m.shape === 'kafka';
const topologyLabel = `MariaDB + Kafka, ${SMALL_TOPOLOGY.triggers} trigger and ${SMALL_TOPOLOGY.schedulers} scheduler replicas`;
const agentSpread = (m: SmallRunsResult) =>
  Object.entries(m.agentsByReplica ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'n/a';
/** Issue 7's topology targets: ≤ 50 % of the 2-core machine, run p50 ≤ 500 ms, ≤ 8 statements per task, agents on every replica. */
function topologyMet(m: SmallRunsResult): boolean {
  const perTask = m.queries?.total && m.tasksFinishedInWindow ? m.queries.total / m.tasksFinishedInWindow : Infinity;
  const spread = Object.values(m.agentsByReplica ?? {});
  return (
    m.ok &&
    m.machineCpu <= 1 &&
    m.runDuration.p50 <= 500 &&
    perTask <= 8 &&
    spread.length === SMALL_TOPOLOGY.schedulers &&
    spread.every((n) => n > 0)
  );
}

function table(head: string[], rows: string[][]): string {
  const out = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}

function errors(list: Array<{ ok: boolean; error?: string; db?: string; name?: string }>): string {
  const bad = list.filter((r) => r.error);
  if (bad.length === 0) return '';
  return (
    '\n\nErrors:\n\n' +
    bad.map((r) => `- ${r.db ?? r.name}:\n\n  \`\`\`text\n${r.error!.replace(/^/gm, '  ')}\n  \`\`\``).join('\n')
  );
}

export interface Goal {
  name: string;
  target: string;
  measured: string;
  met: boolean | null;
}

export function goals(r: Results): Goal[] {
  const chainM = r.chain.find((c) => c.db === 'mariadb');
  const chainS = r.chain.find((c) => c.db === 'sqlite');
  const fanM = r.fanout.find((c) => c.db === 'mariadb');
  const fanS = r.fanout.find((c) => c.db === 'sqlite');
  const fanK = r.fanoutKafka;
  const gw = r.peers.find((p) => p.name.startsWith('Graphile'));
  // The targets of issue 7 ("Speed"), each against the peers of the same run.
  const chainGoal = (c: ChainResult | undefined, db: string, limitMs: number): Goal => ({
    name: `chain of ${CHAIN_TASKS} on ${db}`,
    target: `≤ ${sec(limitMs)} s`,
    measured: c?.ok ? `${sec(c.medianTotalMs)} s` : c ? 'failed' : 'not run',
    met: c?.ok ? c.medianTotalMs <= limitMs : c ? false : null,
  });
  const out: Goal[] = [
    chainGoal(chainM, 'MariaDB', 250),
    chainGoal(chainS, 'SQLite', 100),
    {
      name: 'fan-out on MariaDB',
      target: '≥ 5,000 tasks/s',
      measured: fanM ? `${fmt(fanM.tasksPerSec)} tasks/s${fail(fanM)}` : 'not run',
      met: fanM ? fanM.ok && fanM.tasksPerSec >= 5_000 : null,
    },
    {
      name: 'fan-out on MariaDB vs Graphile Worker',
      target: gw?.ok ? `≥ 1.5 × ${fmt(gw.jobsPerSec)} = ${fmt(1.5 * gw.jobsPerSec)} jobs/s` : '≥ 1.5 × Graphile Worker',
      measured: fanM ? `${fmt(fanM.tasksPerSec)} tasks/s${fail(fanM)}` : 'not run',
      met: fanM && gw?.ok ? fanM.ok && fanM.tasksPerSec >= 1.5 * gw.jobsPerSec : null,
    },
    {
      name: 'fan-out on SQLite',
      target: '≥ 3,000 tasks/s',
      measured: fanS ? `${fmt(fanS.tasksPerSec)} tasks/s${fail(fanS)}` : 'not run',
      met: fanS ? fanS.ok && fanS.tasksPerSec >= 3_000 : null,
    },
    {
      name: `fan-out on ${KAFKA_TOPOLOGY}`,
      target: '≥ 5,000 tasks/s',
      measured: fanK ? `${fmt(fanK.tasksPerSec)} tasks/s${fail(fanK)}` : 'not run',
      met: fanK ? fanK.ok && fanK.tasksPerSec >= 5_000 : null,
    },
  ];
  for (const c of r.cron) {
    out.push({
      name: `cron fire delay p99 on ${c.db}`,
      target: '≤ 50 ms, no slot missed or doubled',
      measured: `${fmt(c.delay.p99)} ms, ${c.missed} missed, ${c.doubled} doubled${fail(c)}`,
      met: c.ok && c.delay.p99 <= 50,
    });
  }
  const fleetM = r.fleet?.find((f) => f.db === 'mariadb');
  if (r.fleet?.length) {
    out.push({
      name: `fleet (${fleetM ? fleetM.runs.toLocaleString('en-US') : 'n'} runs × ${FLEET_WIDTH + 2} tasks) on MariaDB`,
      target: '≥ 5,000 tasks/s; ready → Assign p99 reported',
      measured: fleetM
        ? `${fmt(fleetM.tasksPerSec)} tasks/s, ready → Assign p99 ${fmt(fleetM.readyAssign.p99)} ms${fail(fleetM)}`
        : 'not run',
      met: fleetM ? fleetM.ok && fleetM.tasksPerSec >= 5_000 : null,
    });
  }
  for (const f of r.fairness ?? []) {
    out.push({
      name: `fairness on ${f.db}: B's ready → Assign p99 under A's flood`,
      target: `≤ 2× B alone (${fmt(f.bAlone.p99)} ms)`,
      measured: `${fmt(f.bFlooded.p99)} ms = ${fmt(f.p99Ratio, 2)}×${fail(f)}`,
      met: f.ok && f.p99Ratio <= 2,
    });
    out.push({
      name: `fairness on ${f.db}: Jain's index, equal weights, saturated`,
      target: '≥ 0.95',
      measured: `${fmt(f.jain.mean, 3)} (mean of ${f.jain.windows} windows of ${f.jain.windowMs} ms; min ${fmt(f.jain.min, 3)})${fail(f)}`,
      met: f.ok && f.jain.windows > 0 && f.jain.mean >= 0.95,
    });
  }
  for (const rp of r.reports ?? []) {
    const worst = rp.latency.length ? Math.max(...rp.latency.map((l) => l.ms.p50)) : NaN;
    out.push({
      name: `reports over ${rp.attempts.toLocaleString('en-US')} attempts on ${rp.db}: slowest report's p50`,
      target: rp.db === 'mariadb' ? '≤ 200 ms' : 'reported',
      measured: `${fmt(worst)} ms${fail(rp)}`,
      met: rp.db === 'mariadb' ? rp.ok && worst <= 200 : rp.ok,
    });
  }
  for (const pt of r.portal ?? []) {
    for (const pg of pt.pages) {
      out.push({
        name: `portal on ${pt.db} (embedded default), Chromium: ${pg.name}, ${pg.until}`,
        target: `< ${fmt(PORTAL_GOAL_MS)} ms`,
        measured: `p50 ${fmt(pg.ms.p50)} ms, p95 ${fmt(pg.ms.p95)} ms (first load, cold: ${fmt(pg.coldMs)} ms)${fail(pt)}`,
        met: pt.ok && pg.ms.p95 < PORTAL_GOAL_MS && pg.coldMs < PORTAL_GOAL_MS,
      });
    }
    if (!pt.ok) out.push({ name: `portal on ${pt.db}`, target: 'runs', measured: 'FAILED', met: false });
  }
  for (const m of r.smallRuns ?? []) {
    if (onTopology(m)) {
      out.push({
        name: `small runs on the production topology (${topologyLabel}): ${fmt(m.jobs / SMALL_PERIOD_S)} runs/s of ${SMALL_TASKS} tasks`,
        target:
          '≤ 50 % of the machine (1 of 2 cores), run p50 ≤ 500 ms, ≤ 8 statements per task, agents on every replica',
        measured: `machine CPU ${fmt(m.machineCpu, 2)}, run p50 ${fmt(m.runDuration.p50)} ms, ${smallPerTask(m)} statements/task, agents ${agentSpread(m)}; ${m.fired.toLocaleString('en-US')} / ${m.expected.toLocaleString('en-US')} fired, ${m.missed} missed${fail(m)}`,
        met: topologyMet(m),
      });
      continue;
    }
    out.push({
      name: `small runs on ${m.db}: ${fmt(m.jobs / SMALL_PERIOD_S)} runs/s of ${SMALL_TASKS} tasks`,
      target: 'every slot fired once and finished; CPU, run p50, statements per task reported',
      measured: `${m.fired.toLocaleString('en-US')} / ${m.expected.toLocaleString('en-US')} fired, ${m.missed} missed, run p50 ${fmt(m.runDuration.p50)} ms, machine CPU ${fmt(m.machineCpu, 2)}, ${smallPerTask(m)} statements/task${fail(m)}`,
      met: m.ok,
    });
  }
  return out;
}

export function summaryTable(r: Results): string {
  const dbs = ['sqlite', 'mariadb'];
  const by = <T extends { db: string }>(list: T[], db: string) => list.find((x) => x.db === db);
  /** One cell per database: `v` of that database's result, or a dash. */
  const cells = <T extends { db: string }>(list: T[], v: (x: T) => string) =>
    dbs.map((d) => {
      const x = by(list, d);
      return x ? v(x) : '–';
    });
  const rows: string[][] = [];
  if (r.chain.length) {
    rows.push([
      `chain ${CHAIN_TASKS} noop: median run time (s)`,
      ...dbs.map((d) => {
        const c = by(r.chain, d);
        return c ? `${sec(c.medianTotalMs)}${fail(c)}` : '–';
      }),
    ]);
    rows.push([
      'chain: transition p50 / p99 (ms)',
      ...dbs.map((d) => {
        const c = by(r.chain, d);
        return c ? lat(c.transitions) : '–';
      }),
    ]);
    rows.push(['chain: platform peak RSS (MiB)', ...cells(r.chain, rss)]);
  }
  if (r.fanout.length) {
    const n = r.fanout[0]!.n;
    rows.push([
      `fan-out 1→${n.toLocaleString('en-US')}→1: tasks/s`,
      ...dbs.map((d) => {
        const c = by(r.fanout, d);
        return c ? `${fmt(c.tasksPerSec)}${fail(c)}` : '–';
      }),
    ]);
    rows.push([
      'fan-out: dispatch latency p50 / p99 (ms)',
      ...dbs.map((d) => {
        const c = by(r.fanout, d);
        return c ? lat(c.dispatch) : '–';
      }),
    ]);
    rows.push(['fan-out: platform peak RSS (MiB)', ...cells(r.fanout, rss)]);
  }
  if (r.fanoutKafka) {
    const k = r.fanoutKafka;
    rows.push([
      `fan-out 1→${k.n.toLocaleString('en-US')}→1 on Kafka, ${SCHEDULER_REPLICAS} schedulers: tasks/s`,
      '–',
      `${fmt(k.tasksPerSec)}${fail(k)}`,
    ]);
    rows.push(['fan-out on Kafka: dispatch latency p50 / p99 (ms)', '–', lat(k.dispatch)]);
    rows.push(['fan-out on Kafka: peak RSS per service (MiB)', '–', formatRss(k.rssMb)]);
  }
  if (r.cron.length) {
    const n = r.cron[0]!.triggers;
    rows.push([
      `cron ${n.toLocaleString('en-US')} triggers: fire delay p50 / p99 / max (ms)`,
      ...dbs.map((d) => {
        const c = by(r.cron, d);
        return c ? `${fmt(c.delay.p50)} / ${fmt(c.delay.p99)} / ${fmt(c.delay.max)}${fail(c)}` : '–';
      }),
    ]);
    rows.push([
      'cron: slots fired / missed / doubled',
      ...dbs.map((d) => {
        const c = by(r.cron, d);
        return c ? `${c.fired.toLocaleString('en-US')} / ${c.missed} / ${c.doubled}` : '–';
      }),
    ]);
    rows.push(['cron: platform peak RSS (MiB)', ...cells(r.cron, rss)]);
  }
  const fleet = r.fleet ?? [];
  if (fleet.length) {
    const f0 = fleet[0]!;
    rows.push([
      `fleet ${f0.runs.toLocaleString('en-US')} runs × ${FLEET_WIDTH + 2} tasks, ${f0.agents} agents: tasks/s (target ≥ 5,000 on MariaDB)`,
      ...cells(fleet, (f) => `${fmt(f.tasksPerSec)}${fail(f)}`),
    ]);
    rows.push(['fleet: ready → Assign p50 / p99 (ms)', ...cells(fleet, (f) => lat(f.readyAssign))]);
    rows.push(['fleet: platform peak RSS (MiB)', ...cells(fleet, rss)]);
  }
  const fair = r.fairness ?? [];
  if (fair.length) {
    rows.push([
      `fairness: B's ready → Assign p99 alone / under A's ${fair[0]!.flood.toLocaleString('en-US')}-task flood (ms) (target ≤ 2×)`,
      ...cells(fair, (f) => `${fmt(f.bAlone.p99)} / ${fmt(f.bFlooded.p99)} (${fmt(f.p99Ratio, 2)}×)${fail(f)}`),
    ]);
    rows.push([
      "fairness: Jain's index, equal weights, saturated: mean / min (target ≥ 0.95)",
      ...cells(fair, (f) => `${fmt(f.jain.mean, 3)} / ${fmt(f.jain.min, 3)}`),
    ]);
    rows.push(['fairness: platform peak RSS (MiB)', ...cells(fair, rss)]);
  }
  const small = (r.smallRuns ?? []).filter((m) => !onTopology(m));
  if (small.length) {
    const m0 = small[0]!;
    rows.push([
      `small runs ${m0.jobs} cron jobs / ${SMALL_PERIOD_S} s × ${SMALL_TASKS} tasks: runs/s, run p50 (ms)`,
      ...cells(small, (m) => `${fmt(m.runsPerSec)}, ${fmt(m.runDuration.p50)}${fail(m)}`),
    ]);
    rows.push([
      'small runs: machine CPU (cores), DB statements per task',
      ...cells(small, (m) => `${fmt(m.machineCpu, 2)}, ${smallPerTask(m)}`),
    ]);
    rows.push(['small runs: platform peak RSS (MiB)', ...cells(small, rss)]);
  }
  for (const pt of r.portal ?? []) {
    for (const pg of pt.pages) {
      rows.push([
        `portal: ${pg.name}, p50 / p95 (ms)`,
        ...cells(r.portal!, () => `${fmt(pg.ms.p50)} / ${fmt(pg.ms.p95)}${fail(pt)}`),
      ]);
    }
  }
  let out = table(['Baton', 'SQLite', 'MariaDB'], rows);
  const peerRows: string[][] = [];
  if (r.grpc) {
    peerRows.push([
      `grpc-js bidi ping-pong (${r.grpc.inFlight} in flight)`,
      r.grpc.ok ? `${fmt(r.grpc.roundTripsPerSec)} round trips/s` : 'FAILED',
      r.grpc.ok ? `${fmt(r.grpc.single.p50, 2)} / ${fmt(r.grpc.single.p99, 2)} (1 in flight RTT)` : '',
    ]);
  }
  for (const p of r.peers) {
    peerRows.push([
      `${p.name}, ${p.jobs.toLocaleString('en-US')} jobs, concurrency ${PEER_CONCURRENCY}`,
      p.ok ? `${fmt(p.jobsPerSec)} jobs/s` : 'FAILED',
      p.ok ? `${fmt(p.latency.p50, 2)} / ${fmt(p.latency.p99, 2)}` : '',
    ]);
  }
  if (peerRows.length) out += '\n\n' + table(['Peer', 'throughput', 'latency p50 / p99 (ms)'], peerRows);
  return out;
}

function ratios(r: Results): string {
  const lines: string[] = [];
  const peers = r.peers.filter((p) => p.ok);
  for (const f of [...r.fanout, ...(r.fanoutKafka ? [r.fanoutKafka] : [])]) {
    for (const p of peers) {
      lines.push(
        `- fan-out on ${where(f)} (${fmt(f.tasksPerSec)} tasks/s) / ${p.name} (${fmt(p.jobsPerSec)} jobs/s) = **${fmt(f.tasksPerSec / p.jobsPerSec, 2)}×**`,
      );
    }
  }
  for (const f of r.fleet ?? []) {
    for (const p of peers) {
      lines.push(
        `- fleet on ${f.db} (${fmt(f.tasksPerSec)} tasks/s) / ${p.name} (${fmt(p.jobsPerSec)} jobs/s) = **${fmt(f.tasksPerSec / p.jobsPerSec, 2)}×**`,
      );
    }
  }
  for (const f of r.fairness ?? []) {
    for (const p of peers) {
      lines.push(
        `- fairness: B's ready → Assign p99 under flood on ${f.db} (${fmt(f.bFlooded.p99)} ms) / ${p.name} enqueue-to-start p99 (${fmt(p.latency.p99, 2)} ms) = **${fmt(f.bFlooded.p99 / p.latency.p99, 1)}×**`,
      );
    }
  }
  for (const c of r.chain) {
    for (const p of peers) {
      lines.push(
        `- chain transition p50 on ${c.db} (${fmt(c.transitions.p50)} ms) / ${p.name} enqueue-to-start p50 (${fmt(p.latency.p50, 2)} ms) = **${fmt(c.transitions.p50 / p.latency.p50, 1)}×**`,
      );
    }
    if (r.grpc?.ok) {
      lines.push(
        `- chain transition p50 on ${c.db} / grpc-js round trip p50 (${fmt(r.grpc.single.p50, 2)} ms) = **${fmt(c.transitions.p50 / r.grpc.single.p50, 0)}×**`,
      );
    }
  }
  return lines.join('\n');
}

function fanoutTable(list: FanoutResult[]): string {
  return table(
    [
      'db',
      'middle finished',
      'middle layer (s)',
      'tasks/s',
      'run total (s)',
      'dispatch p50 / p99 / max (ms)',
      'turnaround p50 / p99 (ms)',
      'tasks per agent process',
      'CPU',
      'peak RSS (MiB)',
    ],
    list.map((f) => [
      where(f) + fail(f),
      `${f.finished.toLocaleString('en-US')} / ${f.n.toLocaleString('en-US')}`,
      fmt(f.middleSeconds, 2),
      fmt(f.tasksPerSec),
      fmt(f.totalSeconds, 2),
      `${fmt(f.dispatch.p50)} / ${fmt(f.dispatch.p99)} / ${fmt(f.dispatch.max)}`,
      lat(f.turnaround),
      f.byAgentProcess?.map((x) => x.toLocaleString('en-US')).join(' / ') ?? '–',
      formatCpu(f.cpu),
      formatRss(f.rssMb),
    ]),
  );
}

export function markdown(r: Results): string {
  const m = r.machine;
  const parts: string[] = [];
  parts.push(`# Benchmarks

Generated by \`npm run bench -- ${r.args}\` (tools/bench) on ${r.startedAt}; the whole suite took ${Math.round(r.durationS / 60)} min.
Every scenario runs the real platform (\`node services/cli/dist/main.js standalone\`, no bundled agent; section 2b
runs the services as separate processes on Kafka instead) on a fresh database, with production timings (heartbeat 5 s, lease 30 s, sweep 1 s, trigger poll 5 s), \`BATON_DISPATCH_BATCH=500\`
and info logs. Times come from the server's own timestamps (\`GET /api/v1/runs/{id}\`, the \`runs\` table), so the
bench's polling does not add to them. Re-run with \`npm run bench\` (\`--only\` chain, fanout, fanout-kafka, cron, peers, fleet, fairness, small-runs, small-runs-kafka, reports; \`--db\`, \`--fanout\`,
\`--cron-triggers\`, \`--cron-seconds\`, the \`--fleet-*\`, \`--fairness-*\` and \`--small-*\` sizes, \`--quick\`, \`--write\`; \`--help\` lists them).
"Peak RSS" is the platform process's resident-set high-water mark (\`VmHWM\` in \`/proc/<pid>/status\`, read before it stops).
The fault run (a scheduler replica killed every 20 s under cron load) is recorded beside this file, in
[faults.md](faults.md) (\`npm run bench:faults -- --write\`).

## Machine

| | |
| --- | --- |
| CPU | ${m.cpu} |
| cores | ${m.cores} |
| memory | ${m.memoryGb} GiB |
| kernel | ${m.kernel} |
| Node.js | ${m.node} |
| SQLite | ${m.sqlite} |
| MariaDB | ${m.mariadb} |
| PostgreSQL | ${m.postgres} |
| Redis | ${m.redis} |

Everything (platform, database servers, agents, the bench) shares these ${m.cores} cores. "CPU" figures below are
average cores busy over the measured interval (1.00 = one core saturated), read from \`/proc/<pid>/stat\`.

## Results

${summaryTable(r)}
`);
  if (r.skipped.length) parts.push(`Skipped:\n\n${r.skipped.map((s) => `- ${s}`).join('\n')}\n`);
  if (r.notes.length) parts.push(r.notes.map((s) => `> ${s}`).join('\n>\n') + '\n');
  const g = goals(r);
  parts.push(`## Goals

${table(
  ['goal', 'target', 'measured', 'status'],
  g.map((x) => [x.name, x.target, x.measured, yes(x.met)]),
)}

**Where this stands.** ${NOTES.status}
`);
  if (r.chain.length) {
    parts.push(`## 1. Chain: ${CHAIN_TASKS} noop tasks in a line

One agent (4 slots, in the bench process). ${CHAIN_RUNS} runs after 1 warm-up; run time = run \`createdAt\` →
\`finishedAt\`; a transition = downstream attempt \`assignedAt\` − upstream attempt \`finishedAt\` (39 per run,
pooled). Server timestamps have a 1 ms resolution.

${table(
  ['db', 'run times (ms)', 'median (s)', 'transition p50 / p99 / max (ms)', 'CPU', 'peak RSS (MiB)'],
  r.chain.map((c) => [
    c.db + fail(c),
    c.totalsMs.join(', '),
    sec(c.medianTotalMs),
    `${fmt(c.transitions.p50)} / ${fmt(c.transitions.p99)} / ${fmt(c.transitions.max)}`,
    formatCpu(c.cpu),
    formatRss(c.rssMb),
  ]),
)}${errors(r.chain)}

**What limits it.** ${NOTES.chain}
`);
  }
  if (r.fanout.length) {
    const n = r.fanout[0]!.n;
    parts.push(`## 2. Fan-out: 1 → ${n.toLocaleString('en-US')} → 1 noop tasks

${AGENT_PROCESSES * CONNECTIONS_PER_PROCESS} agent connections with ${SLOTS} slots each, run as ${AGENT_PROCESSES} child processes of
${CONNECTIONS_PER_PROCESS} connections (so the bench process, which only polls the run's state once every 0.5 s, is not
on the agents' path). tasks/s = middle tasks / (last middle attempt \`finishedAt\` − first middle attempt
\`assignedAt\`); dispatch latency = attempt \`assignedAt\` − task \`readyAt\` (the API clears
\`readyAt\` once a task has finished, so for those it is the moment the task became ready: the \`start\` task's result
time, which the engine stamps as the middle tasks' \`readyAt\`); turnaround = attempt \`finishedAt\` −
\`assignedAt\` (assignment sent, agent runs the noop, result processed).${
      n < 10_000
        ? ` A job holds at most 10,000 tasks (MAX_TASKS), so the middle layer is ${n.toLocaleString('en-US')}.`
        : ''
    }

${fanoutTable(r.fanout)}${errors(r.fanout)}

**What limits it.** ${NOTES.fanout}
`);
  }
  if (r.fanoutKafka) {
    const k = r.fanoutKafka;
    parts.push(`## 2b. Fan-out on the production topology: ${KAFKA_TOPOLOGY}

The same 1 → ${k.n.toLocaleString('en-US')} → 1 job, agents and measurements as in section 2, on the topology of
README "Every service as its own process, on MySQL and Kafka": \`tenancy\` (started first: it migrates and
bootstraps), \`catalog\` and ${SCHEDULER_REPLICAS} \`scheduler\` replicas, each \`node services/<service>/dist/main.js\` with
\`BATON_MODE=production\`, on a fresh MariaDB database and the local Kafka broker (a topic prefix of its own per run),
with the same timings and \`BATON_DISPATCH_BATCH=500\`. Agent process *g* (${CONNECTIONS_PER_PROCESS} connections of ${SLOTS} slots) lists scheduler
replica *g* first and the other as its failover; the bench sends each REST call to the owning service (jobs to
catalog, runs to the scheduler replicas in turn, agent tokens to tenancy). "tasks per agent process" counts the middle
tasks by the agent process that ran them, so here by scheduler replica. CPU is per process (group); \`kafka\` is the
broker's JVM.

${fanoutTable([k])}${errors([k])}

**What limits it.** ${NOTES.fanoutKafka}
`);
  }
  if (r.cron.length) {
    const c0 = r.cron[0]!;
    parts.push(`## 3. Cron: ${c0.triggers.toLocaleString('en-US')} triggers over ${CRON_TENANTS.toLocaleString('en-US')} tenants

Trigger i (of tenant i mod ${CRON_TENANTS}) is \`\${i % 60} \${floor(i / 60) % 2}/2 * * * *\`: it fires every 2 minutes,
at offset i mod 120 s of each 120 s cycle, so ${Math.round(c0.triggers / 120).toLocaleString('en-US')} slots fall due every
second. Tenants, jobs, versions (built with \`parseJobDefinition\`) and triggers are inserted directly with
@baton/persistence before the platform starts; each job is one \`noop\` task and no agent is connected, so runs just
queue. Measured over a ${c0.windowSeconds} s window starting 5 s after the first slots: fire delay = run \`started_at\` −
\`logical_date\` from the \`runs\` table (triggers fire \`BATON_TRIGGER_LEAD_MS\`, 1.75 s, ahead: the run is created
\`scheduled\` before its slot and started at it; runs created after their slot start when created); every trigger's logical dates in the window must be exactly its slots (a
slot with no run within 60 s after the window counts as missed), and \`(tenant_id, dedupe_key)\` must be unique.

${table(
  [
    'db',
    'insert (s)',
    'window start',
    'slots due / runs',
    'missed',
    'doubled',
    'dup keys',
    'delay p50 / p99 / max (ms)',
    'worst second (due, max delay)',
    'CPU',
    'peak RSS (MiB)',
  ],
  r.cron.map((c) => [
    c.db + fail(c),
    fmt(c.insertSeconds, 1),
    c.windowStart,
    `${c.expected.toLocaleString('en-US')} / ${c.fired.toLocaleString('en-US')}`,
    String(c.missed),
    String(c.doubled),
    String(c.dedupeDuplicates),
    `${fmt(c.delay.p50)} / ${fmt(c.delay.p99)} / ${fmt(c.delay.max)}`,
    c.worstSecond ? `+${c.worstSecond.second} s (${c.worstSecond.due}, ${fmt(c.worstSecond.maxDelayMs)} ms)` : 'n/a',
    formatCpu(c.cpu),
    formatRss(c.rssMb),
  ]),
)}${errors(r.cron)}

**What limits it.** ${NOTES.cron}
`);
  }
  if (r.grpc || r.peers.length) {
    parts.push(`## 4. Limits and peers (same run, same machine)

- grpc-js: one bidi stream with a generic service and Buffer (de)serializers, the echo server in a child process,
  the client in the bench process; ${r.grpc?.inFlight ?? 100} messages of 64 bytes in flight for 3 s, then one in flight for 2 s.
- Peers: ${r.peers[0]?.jobs.toLocaleString('en-US') ?? '10,000'} no-op jobs enqueued in bulk before the worker starts, concurrency ${PEER_CONCURRENCY}; jobs/s = jobs / (first
  handler start → last completion recorded). Enqueue-to-start latency: ${LATENCY_SAMPLES} jobs enqueued one at a time into the idle
  worker (the first 20 dropped), from before the enqueue call to the handler's start. Graphile Worker runs on a
  fresh PostgreSQL database whose tables are analyzed once after the enqueue.

${table(
  ['system', 'throughput', 'latency p50 / p99 / max (ms)', 'CPU', 'notes'],
  [
    ...(r.grpc
      ? [
          [
            'grpc-js bidi ping-pong' + fail(r.grpc),
            `${fmt(r.grpc.roundTripsPerSec)} round trips/s`,
            `${fmt(r.grpc.single.p50, 2)} / ${fmt(r.grpc.single.p99, 2)} / ${fmt(r.grpc.single.max, 2)}`,
            '',
            '1-in-flight round trip',
          ],
        ]
      : []),
    ...r.peers.map((p) => [
      p.name + fail(p),
      `${fmt(p.jobsPerSec)} jobs/s`,
      `${fmt(p.latency.p50, 2)} / ${fmt(p.latency.p99, 2)} / ${fmt(p.latency.max, 2)}`,
      formatCpu(p.cpu),
      p.notes,
    ]),
  ],
)}${errors(r.grpc ? [{ ...r.grpc, name: 'grpc' }, ...r.peers] : r.peers)}

Baton against them:

${ratios(r)}

**What limits it.** ${NOTES.peers}
`);
  }
  const fleet = r.fleet ?? [];
  if (fleet.length) {
    const f0 = fleet[0]!;
    parts.push(`## 5. Fleet: ${f0.runs.toLocaleString('en-US')} concurrent runs of a ${FLEET_WIDTH + 2}-task DAG over ${f0.agents} agents

Each run is a root, ${FLEET_WIDTH} noop tasks in parallel after it and a join after those. ${f0.agents} agent connections of
${f0.slots} slots each live in child processes of ${FLEET_PER_PROCESS} connections, started before the run but not connected. All runs are
started first (\`POST /api/v1/jobs/fleet/runs\`, ${FLEET_SUBMITTERS} requests in flight: "start all" below), so they are all in flight
at once; then the agents connect and the measurement starts (CPU, statements). The bench polls only the database (run
states, every 250 ms) apart from six \`GET /api/v1/runs/{id}\` looks at the waiting reasons. tasks/s = tasks succeeded /
(first attempt \`assigned_at\` → last attempt \`finished_at\`); run duration = the later of run \`created_at\` and the agents'
connect → \`finished_at\`; ready → Assign = first attempt \`assigned_at\` − the task's ready time (for a root, the later of its
run's creation and the agents' connect), read from the database after the run. The engine clears \`task_runs.ready_at\`
when a task succeeds, so the ready time is rebuilt from rows that stay: a root's is its run's \`created_at\`, any other
task's the latest \`finished_at\` of its upstream tasks (the engine stamps both with the same clock reading); "ready check"
compares that with the \`ready_at\` values sampled from \`task_runs\` while the tasks waited or ran. Statements per task =
statements the platform process sent to its database driver while the runs executed (counted inside the platform by a
preload, BEGIN and COMMIT included; run creation is before that) / tasks.

${table(
  [
    'db',
    'runs succeeded',
    'start all (s)',
    'busy (s)',
    'tasks/s',
    'runs/s',
    'run duration p50 / p99 (ms)',
    'ready → Assign p50 / p99 / max (ms)',
    'p99 root / middle / join (ms)',
    'turnaround p50 / p99 (ms)',
    'statements per task',
    'CPU',
    'machine CPU',
    'peak RSS (MiB)',
  ],
  fleet.map((f) => [
    f.db + fail(f),
    `${f.succeededRuns.toLocaleString('en-US')} / ${f.runs.toLocaleString('en-US')}`,
    fmt(f.submitSeconds, 2),
    fmt(f.busySeconds, 2),
    fmt(f.tasksPerSec),
    fmt(f.runsPerSec),
    lat(f.runDuration),
    lat3(f.readyAssign),
    `${fmt(f.byLayer.root.p99)} / ${fmt(f.byLayer.middle.p99)} / ${fmt(f.byLayer.join.p99)}`,
    lat(f.turnaround),
    perUnit(f.queries, f.tasks),
    formatCpu(f.cpu),
    fmt(f.machineCpu, 2),
    formatRss(f.rssMb),
  ]),
)}

${fleet
  .map(
    (f) =>
      `- ${f.db}: ready check ${f.readyCheck.equal.toLocaleString('en-US')} of ${f.readyCheck.compared.toLocaleString('en-US')} sampled tasks equal (max difference ${fmt(f.readyCheck.maxDiffMs, 0)} ms); waiting reasons seen: before the agents connected ${tally(f.waitingBeforeAgents ?? {})}, while running ${tally(f.waiting)}`,
  )
  .join('\n')}${errors(fleet)}

**What limits it.** ${NOTES.fleet}
`);
  }
  const fair = r.fairness ?? [];
  if (fair.length) {
    const f0 = fair[0]!;
    parts.push(`## 6. Fairness: tenant A floods ${f0.flood.toLocaleString('en-US')} tasks while tenant B starts ${f0.bRate} small runs a second

Four tenants (\`POST /api/v1/tenants\`), each with dispatch weight ${FAIRNESS_WEIGHT} (\`PUT /api/v1/tenants/{id}/quota\`) and agents of its own:
A, C and D ${f0.agents} connection(s) of ${f0.slots} slots each, B one of ${FAIRNESS_B_SLOTS}. A flood is ${FLOOD_WIDTH}-task runs of independent noop
tasks; B's small run is one noop task and two after it. One platform, three phases:

1. B alone: ${f0.bRate} runs a second for ${f0.aloneSeconds} s.
2. A floods ${f0.flood.toLocaleString('en-US')} tasks (its runs started over the API, 8 requests in flight, as fast as the platform
   answers) while B keeps going, until the flood has finished. "Under flood" = B's tasks that became ready between A's
   first flood task becoming ready and A's last flood task being assigned. The target: B's p99 under flood ≤ 2× alone.
3. B idle; C and D queue ${f0.flood.toLocaleString('en-US')} tasks each while their agents are not connected, then the agents of both
   connect at once: **Jain's index**. A tenant is saturated at instant t when it has tasks ready but not yet assigned
   (tasks ready at or before t minus tasks first assigned at or before t > 0). Both have the same agents, so equal
   service is the fair outcome whatever limits it (dispatch, result handling or the agents' slots). Time from just after the later of the two tenants'
   first assignment batches (each tenant's first batch fills its agents as they connect; the first to connect takes
   whole batches while the other has nowhere to run) is cut into windows of ${f0.jain.windowMs} ms; a window counts when C and D are both saturated at every
   instant of it. For each such window x = (tasks of C, tasks of D) whose first attempt was assigned in it, and
   J = (x_C + x_D)² / (2 (x_C² + x_D²)): 1 is an equal split, 0.5 all to one tenant. Reported: the mean of J over the
   counted windows (the target's figure, ≥ 0.95), its minimum and 5th percentile, and J of the two tenants' totals over
   those windows. A saturated window in which neither tenant got a task (a stall) is left out of J and counted beside
   it. "peak in flight" = most attempts of a tenant assigned and not finished at once: at its slots, that tenant's
   agents were full at times (for noop tasks, mostly results waiting to be applied), so slots freed by applied results
   decided its share then.

Ready times and statements as in section 5.

${table(
  [
    'db',
    'B alone: tasks, ready → Assign p50 / p99 / max (ms)',
    "B under A's flood: tasks, p50 / p99 / max (ms)",
    'of which first task / the two after it: p50 / p99 (ms)',
    'p99 ratio',
    "A's flood: dispatch (s), tasks/s",
    'CPU',
    'machine CPU',
    'peak RSS (MiB)',
  ],
  fair.map((f) => [
    f.db + fail(f),
    `${f.bAlone.n}: ${lat3(f.bAlone)}`,
    `${f.bFlooded.n}: ${lat3(f.bFlooded)}`,
    f.bFloodedRoot && f.bFloodedDownstream ? `${lat(f.bFloodedRoot)} / ${lat(f.bFloodedDownstream)}` : 'n/a',
    `${fmt(f.p99Ratio, 2)}×`,
    `${fmt(f.floodSeconds, 2)}, ${fmt(f.floodTasksPerSec)}`,
    formatCpu(f.cpu),
    fmt(f.machineCpu, 2),
    formatRss(f.rssMb),
  ]),
)}

${table(
  [
    'db',
    'saturated windows / windows',
    'Jain mean / min / p5',
    'Jain of totals',
    'tasks C / D in them',
    'peak in flight C / D (slots each)',
    'C + D tasks/s',
    'statements per task',
  ],
  fair.map((f) => [
    f.db + fail(f),
    `${f.jain.windows} / ${f.jain.considered}${f.jain.empty ? ` (+${f.jain.empty} with nothing assigned)` : ''}`,
    `${fmt(f.jain.mean, 3)} / ${fmt(f.jain.min, 3)} / ${fmt(f.jain.p5, 3)}`,
    fmt(f.jain.overall, 3),
    `${(f.jain.perTenant.C ?? 0).toLocaleString('en-US')} / ${(f.jain.perTenant.D ?? 0).toLocaleString('en-US')}`,
    `${f.peakInFlight.c} / ${f.peakInFlight.d} (${f.peakInFlight.slotsEach})`,
    fmt(f.saturatedTasksPerSec),
    perUnit(f.queries, f.tasks),
  ]),
)}

${fair
  .map(
    (f) =>
      `- ${f.db}: ready check ${f.readyCheck.equal.toLocaleString('en-US')} of ${f.readyCheck.compared.toLocaleString('en-US')} sampled tasks equal (max difference ${fmt(f.readyCheck.maxDiffMs, 0)} ms); waiting reasons seen: A ${tally(f.waiting.a)}; B ${tally(f.waiting.b)}; C ${tally(f.waiting.c)}; D ${tally(f.waiting.d)}`,
  )
  .join('\n')}${errors(fair)}

**What limits it.** ${NOTES.fairness}
`);
  }
  const small = r.smallRuns ?? [];
  if (small.length) {
    const m0 = small[0]!;
    parts.push(`## 7. Many small runs: ${m0.jobs} cron jobs every ${SMALL_PERIOD_S} s, each a chain of ${SMALL_TASKS} noop tasks

Job i (\`PUT /api/v1/jobs/{name}\` with a cron trigger) fires at \`\${i % 2}/2 * * * * *\`: every ${SMALL_PERIOD_S} s, half of the jobs at the
even seconds and half at the odd ones, so ${fmt(m0.jobs / SMALL_PERIOD_S)} runs (${fmt((m0.jobs / SMALL_PERIOD_S) * SMALL_TASKS)} tasks) start every second.
${SMALL_AGENTS} agent connections of ${SMALL_SLOTS} slots in a child process (on the production topology, scenario
\`small-runs-kafka\`: ${topologyLabel}, each service its own process, and ${SMALL_TOPOLOGY.agents} agents of ${SMALL_TOPOLOGY.slots} slots given the
whole \`--server\` list; "agents" counts each replica's connected agents from its own log). Measured over a ${m0.windowSeconds} s window starting ${SMALL_WARMUP_S} s after
the last job was put; the bench does nothing in the window but read \`/proc\` and the statement counter at its ends.
Runs of the window = runs whose logical date is in it (a slot with no run within 30 s after the window is missed);
run duration = \`started_at\` → \`finished_at\`; slot → done = logical date → \`finished_at\`; fire delay = \`started_at\` −
logical date (runs are created ahead of their slot, \`scheduled\`, and start at it); ready → Assign as in section 5. "machine CPU" is the whole machine (\`/proc/stat\`, everything on it, in
cores busy); statements per task = the platform's statements over the window / attempts finished in it. "idle" = the
same platform with its agents connected before any job existed, over ${SMALL_IDLE_S} s: its background statements (sweeps,
presence, relays) and the machine's CPU without the workload (other services on the machine included).

${table(
  [
    'db',
    'window start',
    'slots due / runs',
    'missed',
    'doubled',
    'runs/s',
    'tasks/s',
    'run duration p50 / p99 (ms)',
    'slot → done p50 / p99 (ms)',
    'fire delay p50 / p99 (ms)',
    'ready → Assign p50 / p99 (ms)',
    'statements per task',
    'idle: statements/s, machine CPU',
    'machine CPU',
    'CPU',
    'peak RSS (MiB)',
  ],
  small.map((m) => [
    (onTopology(m)
      ? `${m.db} + Kafka (${SMALL_TOPOLOGY.triggers} trigger, ${SMALL_TOPOLOGY.schedulers} scheduler replicas; agents ${agentSpread(m)})`
      : m.db) + fail(m),
    m.windowStart,
    `${m.expected.toLocaleString('en-US')} / ${m.fired.toLocaleString('en-US')}`,
    String(m.missed),
    String(m.doubled),
    fmt(m.runsPerSec),
    fmt(m.tasksPerSec),
    lat(m.runDuration),
    lat(m.slotToDone),
    lat(m.fireDelay),
    lat(m.readyAssign),
    perUnit(m.queries, m.tasksFinishedInWindow),
    `${fmt(m.idleStatementsPerSec)}, ${fmt(m.idleMachineCpu, 2)}`,
    fmt(m.machineCpu, 2),
    formatCpu(m.cpu),
    formatRss(m.rssMb),
  ]),
)}${errors(small)}

**What limits it.** ${NOTES.smallRuns}
`);
  }
  const reports = r.reports ?? [];
  if (reports.length) {
    const rp0 = reports[0]!;
    parts.push(`## 8. Reports over ${rp0.attempts.toLocaleString('en-US')} attempts of history

${rp0.runs.toLocaleString('en-US')} runs of ${rp0.jobs} jobs (three tasks each, one task in ten retried once) over the last ${rp0.days} days,
written into the database (\`seedRunHistory\`, libs/testing: multi-row INSERTs of thousands of rows, a transaction per
5,000 runs, logical dates in order) with their task runs, attempts and SLA rows, then \`ANALYZE\`d; seeding took
${reports.map((rp) => `${fmt(rp.seedSeconds)} s on ${rp.db}`).join(', ')}. Each report is called through the HTTP API 20 times
after two untimed calls; latency is the client's, request to response. The default size is
${REPORTS_ATTEMPTS.toLocaleString('en-US')} attempts (\`--reports-attempts\`).

${table(
  ['db', 'report', 'path', 'p50 (ms)', 'p99 (ms)', 'max (ms)'],
  reports.flatMap((rp) =>
    rp.latency.map((l) => [rp.db + fail(rp), l.name, '`' + l.path + '`', fmt(l.ms.p50), fmt(l.ms.p99), fmt(l.ms.max)]),
  ),
)}${errors(reports)}

**What limits it.** ${NOTES.reports}
`);
  }
  const portal = r.portal ?? [];
  if (portal.length) parts.push(portalSection(portal));
  return parts.join('\n');
}

/** Section 9: the portal's home page and the 500 × 100 grid, timed in Chromium. */
export function portalSection(portal: PortalResult[]): string {
  const p0 = portal[0]!;
  return `## 9. Portal: the home page and the ${p0.tasks} × ${p0.runs} grid in Chromium

The embedded default (\`baton standalone\` on SQLite, the portal's static export served on the API's port) with one job
of ${p0.tasks} noop tasks in a chain and ${p0.runs} finished runs of it an hour apart (one in ten failed; written into the
database with \`seedRunHistory\`, libs/testing). Debian's Chromium ${p0.chromium || '(version not read)'} (playwright-core, headless, no
GPU) at ${p0.viewport}, signed in as the platform admin. Each page is loaded once in a fresh browser context (the
session cookie, nothing cached: "cold"), then once untimed and ${p0.loads} times timed in one context (the browser's
cache warm, as for a user who comes back). A load is timed in the page, from the navigation's start
(\`performance.timeOrigin\`) to the first animation frame in which the page shows what it is for: the home page
its counts by state (the chart and its text), the grid its last visible cell — the one at the bottom right of
the part of the grid in the viewport — with its state. The last columns say where the time went, from the page's
Navigation and Resource Timing entries: when the document was parsed, when the first API request went out (the
app booted: its scripts compiled and run), when the last API response arrived, and the slowest API call.
Goal: under ${fmt(PORTAL_GOAL_MS)} ms each (\`--only portal\`,
\`--portal-loads\`; needs \`npm run build:web\`).

${table(
  [
    'db',
    'page',
    'loaded when',
    'cold (ms)',
    'p50 (ms)',
    'p95 (ms)',
    'max (ms)',
    'document parsed (ms, p50)',
    'first API request (ms, p50)',
    'last API response (ms, p50)',
    'slowest API call (ms, p50)',
  ],
  portal.flatMap((pt) =>
    pt.pages.map((pg) => [
      pt.db + fail(pt),
      pg.name,
      pg.until,
      fmt(pg.coldMs),
      fmt(pg.ms.p50),
      fmt(pg.ms.p95),
      fmt(pg.ms.max),
      fmt(pg.domMs),
      fmt(pg.apiStartMs),
      fmt(pg.apiDoneMs),
      pg.slowestApi?.path ? `\`${pg.slowestApi.path}\` ${fmt(pg.slowestApi.ms)}` : '–',
    ]),
  ),
)}

The first loads, cold (from the same Timing entries):

${table(
  [
    'page',
    'scripts run (KiB, decoded)',
    'last script arrived (ms)',
    'document parsed (ms)',
    'first API request (ms)',
    'last API response (ms)',
    'shown (ms)',
  ],
  portal.flatMap((pt) =>
    pt.pages.map((pg) => [
      pg.name,
      fmt(pg.cold?.scriptsKb, 0),
      fmt(pg.cold?.scriptsDoneMs),
      fmt(pg.cold?.domMs),
      fmt(pg.cold?.apiStartMs),
      fmt(pg.cold?.apiDoneMs),
      fmt(pg.coldMs),
    ]),
  ),
)}${errors(portal)}

**What limits it.** ${NOTES.portal}
`;
}
