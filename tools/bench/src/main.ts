import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readTestEnv } from '@baton/config';
import { testDatabaseKinds, testKafkaBrokers } from '@baton/testing';
import { type ChainResult, runChain } from './chain.js';
import { type CronResult, runCron } from './cron.js';
import {
  FAIRNESS_AGENTS,
  FAIRNESS_ALONE_S,
  FAIRNESS_B_RATE,
  FAIRNESS_FLOOD,
  FAIRNESS_SLOTS,
  FAIRNESS_WINDOW_MS,
  type FairnessResult,
  runFairness,
} from './fairness.js';
import { type FanoutResult, MAX_FANOUT, runFanout } from './fanout.js';
import { FLEET_AGENTS, FLEET_RUNS, FLEET_SLOTS, type FleetResult, runFleet } from './fleet.js';
import { formatted } from './format.js';
import { describeMachine } from './machine.js';
import type { DbKind } from './platform.js';
import { type PeerResult, runBullmq, runGraphileWorker, runGrpc } from './peers.js';
import { type Results, goals, markdown, summaryTable } from './report.js';
import { SMALL_JOBS, SMALL_SECONDS, type SmallRunsResult, runSmallRuns, runSmallRunsKafka } from './small-runs.js';
import { runFanoutKafka } from './topology.js';
import { REPORTS_ATTEMPTS, type ReportsResult, runReports } from './reports.js';
import { PORTAL_LOADS, type PortalResult, runPortal } from './portal.js';

const SCENARIOS = [
  'chain',
  'fanout',
  'fanout-kafka',
  'cron',
  'peers',
  'fleet',
  'fairness',
  'small-runs',
  'small-runs-kafka',
  'reports',
  'portal',
] as const;
type Scenario = (typeof SCENARIOS)[number];

/** Sizes of the fleet, fairness and small-runs scenarios; the defaults are the issue's. */
export interface Sizes {
  fleetRuns: number;
  fleetAgents: number;
  fleetSlots: number;
  fleetTimeoutS: number;
  fairnessFlood: number;
  fairnessRate: number;
  fairnessAloneS: number;
  fairnessAgents: number;
  fairnessSlots: number;
  fairnessWindowMs: number;
  fairnessTimeoutS: number;
  smallJobs: number;
  smallSeconds: number;
  reportsAttempts: number;
  portalLoads: number;
}

export const DEFAULT_SIZES: Sizes = {
  fleetRuns: FLEET_RUNS,
  fleetAgents: FLEET_AGENTS,
  fleetSlots: FLEET_SLOTS,
  fleetTimeoutS: 600,
  fairnessFlood: FAIRNESS_FLOOD,
  fairnessRate: FAIRNESS_B_RATE,
  fairnessAloneS: FAIRNESS_ALONE_S,
  fairnessAgents: FAIRNESS_AGENTS,
  fairnessSlots: FAIRNESS_SLOTS,
  fairnessWindowMs: FAIRNESS_WINDOW_MS,
  fairnessTimeoutS: 600,
  smallJobs: SMALL_JOBS,
  smallSeconds: SMALL_SECONDS,
  reportsAttempts: REPORTS_ATTEMPTS,
  portalLoads: PORTAL_LOADS,
};

/** --quick: seconds, not minutes, for checking that the new scenarios work (flags given explicitly win). */
export const QUICK_SIZES: Partial<Sizes> = {
  fleetRuns: 50,
  fleetAgents: 2,
  fairnessFlood: 2_000,
  fairnessAloneS: 5,
  fairnessAgents: 1,
  fairnessSlots: 500,
  fairnessWindowMs: 250,
  smallJobs: 10,
  smallSeconds: 10,
  reportsAttempts: 20_000,
  portalLoads: 5,
};

const SIZE_FLAGS: Record<string, { key: keyof Sizes; min: number }> = {
  '--fleet-runs': { key: 'fleetRuns', min: 1 },
  '--fleet-agents': { key: 'fleetAgents', min: 1 },
  '--fleet-slots': { key: 'fleetSlots', min: 1 },
  '--fleet-timeout': { key: 'fleetTimeoutS', min: 1 },
  '--fairness-flood': { key: 'fairnessFlood', min: 1 },
  '--fairness-rate': { key: 'fairnessRate', min: 1 },
  '--fairness-alone': { key: 'fairnessAloneS', min: 1 },
  '--fairness-agents': { key: 'fairnessAgents', min: 1 },
  '--fairness-slots': { key: 'fairnessSlots', min: 1 },
  '--fairness-window': { key: 'fairnessWindowMs', min: 10 },
  '--fairness-timeout': { key: 'fairnessTimeoutS', min: 1 },
  '--small-jobs': { key: 'smallJobs', min: 1 },
  '--small-seconds': { key: 'smallSeconds', min: 2 },
  '--reports-attempts': { key: 'reportsAttempts', min: 1_000 },
  '--portal-loads': { key: 'portalLoads', min: 1 },
};

export interface Args {
  only: Scenario[];
  dbs: DbKind[];
  fanout: number;
  fanoutTimeoutS: number;
  cronTriggers: number;
  cronSeconds: number;
  sizes: Sizes;
  write: boolean;
  cpuProf: string | null;
  /** Re-render the report from a saved results file instead of running. */
  fromJson: string | null;
  /** Where this run's results are saved. */
  results: string;
}

const USAGE = `usage: node tools/bench/dist/main.js [--only chain,fanout,fanout-kafka,cron,peers,fleet,fairness,small-runs,small-runs-kafka,reports,portal]
  [--db sqlite,mariadb] [--fanout N] [--fanout-timeout S] [--cron-triggers N] [--cron-seconds S]
  [--fleet-runs N] [--fleet-agents N] [--fleet-slots N] [--fleet-timeout S]
                       fleet: N runs of a 10-task DAG at once over N agent connections (default 1000 runs, 10 x 100 slots)
  [--fairness-flood N] [--fairness-rate N] [--fairness-alone S] [--fairness-agents N] [--fairness-slots N]
  [--fairness-window MS] [--fairness-timeout S]
                       fairness: A floods N tasks while B starts N small runs/s (default 10000, 10/s, 20 s alone,
                       2 x 500 slots per flooding tenant, 1000 ms windows for Jain's index)
  [--small-jobs N] [--small-seconds S]
                       small-runs: N cron jobs every 2 s, 3 noop tasks each, measured over S s (default 100, 30 s)
                       small-runs-kafka: the same on MariaDB + Kafka, 2 trigger and 3 scheduler replicas, 6 agents
  [--reports-attempts N]
                       reports: N attempts of history (default 1,000,000) over 90 days, each report's latency
  [--portal-loads N]   portal: the home page and a 500 × 100 grid loaded N times each in Chromium (default 20;
                       needs npm run build:web and Debian's chromium); on SQLite, the embedded default, only
  [--quick]            small sizes for the new scenarios (fleet 50 runs / 2 agents; fairness 2,000-task floods, 5 s alone,
                       1 x 500 slots per flooding tenant, 250 ms windows; small-runs 10 jobs / 10 s; reports 20,000 attempts;
                       portal 5 loads);
                       explicit flags win
  [--cpu-prof DIR] [--write]
  [--from-json FILE]   re-render the report (and with --write, docs/benchmarks.md) from a saved results file
  [--results FILE]     save this run's results there instead (e.g. for a quick check that must not replace last.json)
Every run saves its results to tools/bench/results/last.json unless --results says otherwise.`;

const RESULTS = resolve(__dirname, '../results/last.json');

export function parseArgs(argv: string[]): Args {
  const a: Args = {
    only: [...SCENARIOS],
    dbs: ['sqlite', 'mariadb'],
    fanout: MAX_FANOUT,
    fanoutTimeoutS: 600,
    cronTriggers: 100_000,
    cronSeconds: 30,
    sizes: { ...DEFAULT_SIZES },
    write: false,
    cpuProf: null,
    fromJson: null,
    results: RESULTS,
  };
  const int = (flag: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer ≥ ${min}, got ${v}\n${USAGE}`);
    return n;
  };
  const explicit = new Set<keyof Sizes>();
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const v = argv[i + 1];
    const size = SIZE_FLAGS[flag];
    if (size) {
      a.sizes[size.key] = int(flag, v, size.min);
      explicit.add(size.key);
      i++;
      continue;
    }
    switch (flag) {
      case '--only':
        a.only = (v ?? '').split(',').map((s) => {
          if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario ${s}\n${USAGE}`);
          return s as Scenario;
        });
        i++;
        break;
      case '--db':
        a.dbs = (v ?? '').split(',').map((s) => {
          if (s !== 'sqlite' && s !== 'mariadb') throw new Error(`--db: unknown database ${s}\n${USAGE}`);
          return s;
        });
        i++;
        break;
      case '--fanout':
        a.fanout = int(flag, v, 1);
        if (a.fanout > MAX_FANOUT) throw new Error(`--fanout: a job holds at most ${MAX_FANOUT + 2} tasks`);
        i++;
        break;
      case '--fanout-timeout':
        a.fanoutTimeoutS = int(flag, v, 1);
        i++;
        break;
      case '--cron-triggers':
        a.cronTriggers = int(flag, v, 120);
        i++;
        break;
      case '--cron-seconds':
        a.cronSeconds = int(flag, v, 1);
        i++;
        break;
      case '--cpu-prof':
        a.cpuProf = resolve(v ?? '');
        i++;
        break;
      case '--from-json':
        a.fromJson = resolve(v ?? '');
        i++;
        break;
      case '--results':
        a.results = resolve(v ?? '');
        i++;
        break;
      case '--write':
        a.write = true;
        break;
      case '--quick':
        quick = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${flag}\n${USAGE}`);
    }
  }
  if (quick) {
    for (const [k, v] of Object.entries(QUICK_SIZES) as Array<[keyof Sizes, number]>) {
      if (!explicit.has(k)) a.sizes[k] = v;
    }
  }
  return a;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** The report as the repository's Prettier configuration formats it (docs are format-checked). */
async function output(results: Results, write: boolean): Promise<void> {
  process.stdout.write(`\n${summaryTable(results)}\n\n`);
  for (const s of results.skipped) process.stdout.write(`skipped  ${s}\n`);
  for (const g of goals(results)) {
    const status = g.met === null ? 'n/a    ' : g.met ? 'MET    ' : 'NOT MET';
    process.stdout.write(`${status}  ${g.name}: ${g.measured} (target ${g.target})\n`);
  }
  if (write) {
    const path = resolve(__dirname, '../../../docs/benchmarks.md');
    writeFileSync(path, await formatted(path, markdown(results)));
    log(`wrote ${path}`);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.fromJson) {
    await output(JSON.parse(readFileSync(args.fromJson, 'utf8')) as Results, args.write);
    return;
  }
  const t0 = Date.now();
  const results: Results = {
    startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    durationS: 0,
    args: process.argv.slice(2).join(' '),
    machine: await describeMachine(readTestEnv().mysqlUrl),
    chain: [],
    fanout: [],
    fanoutKafka: null,
    cron: [],
    fleet: [],
    fairness: [],
    smallRuns: [],
    reports: [],
    portal: [],
    grpc: null,
    peers: [],
    skipped: [],
    notes: [],
  };
  log(`machine: ${JSON.stringify(results.machine)}`);
  let dbs = args.dbs;
  if (dbs.includes('mariadb')) {
    const kinds = await testDatabaseKinds().catch(() => ['sqlite'] as DbKind[]);
    if (!kinds.includes('mariadb')) {
      results.skipped.push(`MariaDB: no server answers at ${readTestEnv().mysqlUrl}; its scenarios were not run`);
      dbs = dbs.filter((d) => d !== 'mariadb');
    }
  }
  if (args.fanout !== MAX_FANOUT && (args.only.includes('fanout') || args.only.includes('fanout-kafka'))) {
    results.notes.push(
      `Fan-out run with a middle layer of ${args.fanout.toLocaleString('en-US')} (the default is ${MAX_FANOUT.toLocaleString('en-US')}).`,
    );
  }
  if (args.cronTriggers !== 100_000 && args.only.includes('cron')) {
    results.notes.push(`Cron run with ${args.cronTriggers.toLocaleString('en-US')} triggers (the default is 100,000).`);
  }
  // Peers first: they use nothing Baton leaves behind, and their numbers frame the rest.
  if (args.only.includes('peers')) {
    log('peers: grpc-js ping-pong');
    results.grpc = await runGrpc();
    log(`  ${JSON.stringify(results.grpc)}`);
    log('peers: Graphile Worker');
    const gw: PeerResult = await runGraphileWorker();
    log(`  ${JSON.stringify(gw)}`);
    log('peers: BullMQ');
    const bq: PeerResult = await runBullmq();
    log(`  ${JSON.stringify(bq)}`);
    results.peers.push(gw, bq);
  }
  for (const db of dbs) {
    if (args.only.includes('chain')) {
      log(`chain on ${db}`);
      const r: ChainResult = await runChain(db, log);
      log(`  ${JSON.stringify(r)}`);
      results.chain.push(r);
    }
  }
  for (const db of dbs) {
    if (args.only.includes('fanout')) {
      log(`fan-out 1 -> ${args.fanout} -> 1 on ${db}`);
      const prof = args.cpuProf ? join(args.cpuProf, db) : null;
      const r: FanoutResult = await runFanout(db, args.fanout, args.fanoutTimeoutS * 1000, log, prof);
      log(`  ${JSON.stringify(r)}`);
      results.fanout.push(r);
    }
  }
  if (args.only.includes('fanout-kafka')) {
    const brokers = readTestEnv().kafkaBrokers.join(',');
    if (!dbs.includes('mariadb')) {
      // The MariaDB line above says why when the server is down; say it for --db sqlite too.
      if (args.dbs.includes('mariadb')) log('fanout-kafka: not run (no MariaDB)');
      else results.skipped.push('fanout-kafka: not run: it runs on MariaDB only (--db does not include mariadb)');
    } else {
      // In CI (CI=true) testKafkaBrokers throws for a missing broker; the bench reports it instead.
      const found = await testKafkaBrokers().catch(() => null);
      if (!found) {
        results.skipped.push(
          `fanout-kafka: not run: no Kafka broker at ${brokers} (start one with deploy/local/kafka-start.sh)`,
        );
      } else {
        log(`fan-out 1 -> ${args.fanout} -> 1 on mariadb + Kafka (${found.join(',')}), two scheduler replicas`);
        const r: FanoutResult = await runFanoutKafka(found, args.fanout, args.fanoutTimeoutS * 1000, log);
        log(`  ${JSON.stringify(r)}`);
        results.fanoutKafka = r;
      }
    }
  }
  for (const db of dbs) {
    if (args.only.includes('cron')) {
      log(`cron: ${args.cronTriggers} triggers on ${db}`);
      const r: CronResult = await runCron(db, args.cronTriggers, args.cronSeconds, log);
      log(`  ${JSON.stringify(r)}`);
      results.cron.push(r);
    }
  }
  const z = args.sizes;
  const d = DEFAULT_SIZES;
  const changed = (keys: Array<keyof Sizes>) => keys.filter((k) => z[k] !== d[k]).map((k) => `${k} ${z[k]}`);
  const sizeNote = (scenario: Scenario, keys: Array<keyof Sizes>) => {
    const c = changed(keys);
    if (c.length && args.only.includes(scenario)) {
      results.notes.push(`${scenario} run at a smaller or other size than the default: ${c.join(', ')}.`);
    }
  };
  sizeNote('fleet', ['fleetRuns', 'fleetAgents', 'fleetSlots']);
  sizeNote('fairness', [
    'fairnessFlood',
    'fairnessRate',
    'fairnessAloneS',
    'fairnessAgents',
    'fairnessSlots',
    'fairnessWindowMs',
  ]);
  sizeNote('small-runs', ['smallJobs', 'smallSeconds']);
  sizeNote('small-runs-kafka', ['smallJobs', 'smallSeconds']);
  for (const db of dbs) {
    if (args.only.includes('fleet')) {
      log(`fleet: ${z.fleetRuns} runs of a 10-task DAG over ${z.fleetAgents} agents on ${db}`);
      const r: FleetResult = await runFleet(
        db,
        { runs: z.fleetRuns, agents: z.fleetAgents, slots: z.fleetSlots, timeoutMs: z.fleetTimeoutS * 1000 },
        log,
      );
      log(`  ${JSON.stringify(r)}`);
      results.fleet!.push(r);
    }
  }
  for (const db of dbs) {
    if (args.only.includes('fairness')) {
      log(`fairness: A floods ${z.fairnessFlood} tasks, B ${z.fairnessRate} small runs/s, on ${db}`);
      const r: FairnessResult = await runFairness(
        db,
        {
          flood: z.fairnessFlood,
          bRate: z.fairnessRate,
          aloneSeconds: z.fairnessAloneS,
          agents: z.fairnessAgents,
          slots: z.fairnessSlots,
          windowMs: z.fairnessWindowMs,
          timeoutMs: z.fairnessTimeoutS * 1000,
        },
        log,
      );
      log(`  ${JSON.stringify(r)}`);
      results.fairness!.push(r);
    }
  }
  for (const db of dbs) {
    if (args.only.includes('small-runs')) {
      log(`small-runs: ${z.smallJobs} cron jobs every 2 s for ${z.smallSeconds} s on ${db}`);
      const r: SmallRunsResult = await runSmallRuns(db, { jobs: z.smallJobs, seconds: z.smallSeconds }, log);
      log(`  ${JSON.stringify(r)}`);
      results.smallRuns!.push(r);
    }
  }
  if (args.only.includes('small-runs-kafka')) {
    const found = dbs.includes('mariadb') ? await testKafkaBrokers().catch(() => null) : null;
    if (!found) {
      results.skipped.push(
        'small-runs-kafka: not run: it needs MariaDB and a Kafka broker (start one with deploy/local/kafka-start.sh)',
      );
    } else {
      log(`small-runs-kafka: ${z.smallJobs} cron jobs every 2 s for ${z.smallSeconds} s on the topology`);
      const r = await runSmallRunsKafka(found, { jobs: z.smallJobs, seconds: z.smallSeconds }, log);
      log(`  ${JSON.stringify(r)}`);
      results.smallRuns!.push(r);
    }
  }
  sizeNote('reports', ['reportsAttempts']);
  for (const db of dbs) {
    if (args.only.includes('reports')) {
      log(`reports: ${z.reportsAttempts} attempts of history on ${db}`);
      const r: ReportsResult = await runReports(db, z.reportsAttempts, log);
      log(`  ${JSON.stringify(r)}`);
      results.reports!.push(r);
    }
  }
  sizeNote('portal', ['portalLoads']);
  // The goal is on the embedded default: SQLite only.
  if (args.only.includes('portal') && dbs.includes('sqlite')) {
    log(`portal: home page and a 500 × 100 grid, ${z.portalLoads} loads each, in Chromium`);
    const r: PortalResult = await runPortal('sqlite', z.portalLoads, log);
    log(`  ${JSON.stringify(r)}`);
    results.portal!.push(r);
  }
  results.durationS = (Date.now() - t0) / 1000;
  mkdirSync(dirname(args.results), { recursive: true });
  writeFileSync(args.results, await formatted(args.results, JSON.stringify(results, null, 2)));
  log(`saved ${args.results}`);
  await output(results, args.write);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
