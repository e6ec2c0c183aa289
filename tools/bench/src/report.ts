import { CHAIN_RUNS, CHAIN_TASKS, type ChainResult } from './chain.js';
import { CRON_TENANTS, type CronResult } from './cron.js';
import { AGENT_PROCESSES, CONNECTIONS_PER_PROCESS, type FanoutResult, SLOTS } from './fanout.js';
import { type Machine, formatCpu } from './machine.js';
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
  const fanM = r.fanout.find((c) => c.db === 'mariadb');
  const fanK = r.fanoutKafka;
  const gw = r.peers.find((p) => p.name.startsWith('Graphile'));
  const out: Goal[] = [
    {
      name: `chain of ${CHAIN_TASKS} on MariaDB`,
      target: '< 0.4 s',
      measured: chainM?.ok ? `${sec(chainM.medianTotalMs)} s` : chainM ? 'failed' : 'not run',
      met: chainM?.ok ? chainM.medianTotalMs < 400 : chainM ? false : null,
    },
    {
      name: 'fan-out on MariaDB',
      target: '≥ 5,000 tasks/s',
      measured: fanM ? `${fmt(fanM.tasksPerSec)} tasks/s${fail(fanM)}` : 'not run',
      met: fanM ? fanM.ok && fanM.tasksPerSec >= 5_000 : null,
    },
    {
      name: 'fan-out on MariaDB vs Graphile Worker',
      target: gw?.ok ? `≥ ${fmt(gw.jobsPerSec)} jobs/s` : '≥ Graphile Worker',
      measured: fanM ? `${fmt(fanM.tasksPerSec)} tasks/s${fail(fanM)}` : 'not run',
      met: fanM && gw?.ok ? fanM.ok && fanM.tasksPerSec >= gw.jobsPerSec : null,
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
      target: '< 50 ms, no slot missed or doubled',
      measured: `${fmt(c.delay.p99)} ms, ${c.missed} missed, ${c.doubled} doubled${fail(c)}`,
      met: c.ok && c.delay.p99 < 50,
    });
  }
  return out;
}

export function summaryTable(r: Results): string {
  const by = <T extends { db: string }>(list: T[], db: string) => list.find((x) => x.db === db);
  const rows: string[][] = [];
  const dbs = ['sqlite', 'mariadb'];
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
  }
  if (r.fanoutKafka) {
    const k = r.fanoutKafka;
    rows.push([
      `fan-out 1→${k.n.toLocaleString('en-US')}→1 on Kafka, ${SCHEDULER_REPLICAS} schedulers: tasks/s`,
      '–',
      `${fmt(k.tasksPerSec)}${fail(k)}`,
    ]);
    rows.push(['fan-out on Kafka: dispatch latency p50 / p99 (ms)', '–', lat(k.dispatch)]);
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
bench's polling does not add to them. Re-run with \`npm run bench\` (\`--only\` chain, fanout, fanout-kafka, cron, peers; \`--db\`, \`--fanout\`,
\`--cron-triggers\`, \`--cron-seconds\`, \`--write\`).

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
`);
  if (r.chain.length) {
    parts.push(`## 1. Chain: ${CHAIN_TASKS} noop tasks in a line

One agent (4 slots, in the bench process). ${CHAIN_RUNS} runs after 1 warm-up; run time = run \`createdAt\` →
\`finishedAt\`; a transition = downstream attempt \`assignedAt\` − upstream attempt \`finishedAt\` (39 per run,
pooled). Server timestamps have a 1 ms resolution.

${table(
  ['db', 'run times (ms)', 'median (s)', 'transition p50 / p99 / max (ms)', 'CPU'],
  r.chain.map((c) => [
    c.db + fail(c),
    c.totalsMs.join(', '),
    sec(c.medianTotalMs),
    `${fmt(c.transitions.p50)} / ${fmt(c.transitions.p99)} / ${fmt(c.transitions.max)}`,
    formatCpu(c.cpu),
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
queue. Measured over a ${c0.windowSeconds} s window starting 5 s after the first slots: fire delay = run \`created_at\` −
\`logical_date\` from the \`runs\` table; every trigger's logical dates in the window must be exactly its slots (a
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
  return parts.join('\n');
}
