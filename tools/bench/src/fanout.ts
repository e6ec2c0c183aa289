import { MAX_TASKS } from '@baton/domain';
import type { Platform } from '@baton/testing';
import { startChildProcess } from './agents.js';
import { CpuMeter, pidsByName, readPeakRss } from './machine.js';
import { collectProfile, profileEnv, topSelf } from './profile.js';
import {
  type ApiTarget,
  type BenchTarget,
  type DbKind,
  TERMINAL,
  freshTarget,
  getRun,
  launch,
  putJob,
  runState,
  startRun,
  tail,
} from './platform.js';
import { type Summary, ms, sleep, summarize } from './stats.js';

/** 1 -> N -> 1 must fit in one job: N is at most MAX_TASKS - 2. */
export const MAX_FANOUT = MAX_TASKS - 2;
export const AGENT_PROCESSES = 2;
export const CONNECTIONS_PER_PROCESS = 5;
export const SLOTS = 100;

export interface FanoutResult {
  db: DbKind;
  /** Where it ran: absent for the standalone platform; 'kafka' for fanout-kafka. */
  topology?: 'kafka';
  n: number;
  ok: boolean;
  error?: string;
  /** Middle tasks that finished (all of them unless the run failed or timed out). */
  finished: number;
  tasksPerSec: number;
  middleSeconds: number;
  totalSeconds: number;
  dispatch: Summary;
  /** attempt.finishedAt - attempt.assignedAt: assignment, agent, result handling. */
  turnaround: Summary;
  /** Middle tasks whose first attempt ran on agent process g (its connections are fan-g-*). */
  byAgentProcess?: number[];
  cpu: Record<string, number>;
  /** Peak RSS (VmHWM) of the platform's processes, MiB; absent in results saved before it was measured. */
  rssMb?: Record<string, number>;
}

export function fanoutDefinition(n: number) {
  const mid = Array.from({ length: n }, (_, i) => `m${String(i).padStart(5, '0')}`);
  return {
    description: `benchmark: 1 -> ${n} -> 1 noop tasks`,
    tasks: [
      { key: 'start', type: 'noop' },
      ...mid.map((key) => ({ key, type: 'noop', dependsOn: ['start'] })),
      { key: 'end', type: 'noop', dependsOn: mid },
    ],
  };
}

/** What the fan-out measurement needs from a running platform, whatever its shape. */
export interface FanoutPlatform extends ApiTarget {
  agentToken(): Promise<string>;
  /** The agent `server` option for agent process `g` (a comma list fails over in order). */
  agentServer(g: number): string;
  /** CPU meter groups of the platform's own processes (agents and the bench are added). */
  cpu: Record<string, () => number[]>;
  /** The platform's own processes, for their peak RSS (agents, brokers and database servers are not the platform). */
  memory: Record<string, () => number[]>;
  /** The last lines of the platform's output, for error reports. */
  tail(): string;
  /** Called once the run's rows are read, before stop (e.g. to collect a CPU profile). */
  afterRun?(): Promise<void>;
  stop(): Promise<void>;
}

/** The standalone platform (one process) as the scenarios see a platform. */
export function standalone(p: Platform): FanoutPlatform {
  return {
    api: <T>(method: string, path: string, body?: unknown) => p.api<T>(method, path, body),
    agentToken: () => p.agentToken(),
    agentServer: () => p.grpc,
    cpu: { platform: () => [p.proc.pid!] },
    memory: { platform: () => [p.proc.pid!] },
    tail: () => tail(p),
    stop: () => p.stop(),
  };
}

/** Fan-out on the standalone platform (one process). */
export async function runFanout(
  kind: DbKind,
  n: number,
  timeoutMs: number,
  log: (s: string) => void,
  profileDir: string | null = null,
): Promise<FanoutResult> {
  return runFanoutOn(kind, n, timeoutMs, log, async (t) => {
    const p = await launch(t, { env: profileDir ? profileEnv(profileDir) : {} });
    return {
      ...standalone(p),
      // Last: the platform shuts down on SIGUSR2 (Nest's shutdown hooks) once the profile is written.
      afterRun: profileDir
        ? async () => {
            const file = await collectProfile(p.proc, profileDir);
            log(file ? `  profile: ${file}\n    ${topSelf(file).join('\n    ')}` : '  profile: none written');
          }
        : undefined,
      stop: () => p.stop(),
    };
  });
}

/**
 * One 1 -> n -> 1 run on a fresh database of `kind`, on the platform `start`
 * brings up on it; the result's timings come from the run's rows.
 */
export async function runFanoutOn(
  kind: DbKind,
  n: number,
  timeoutMs: number,
  log: (s: string) => void,
  start: (t: BenchTarget) => Promise<FanoutPlatform>,
  topology?: FanoutResult['topology'],
): Promise<FanoutResult> {
  const label = topology ? `${kind}+${topology}` : kind;
  const t = await freshTarget(kind);
  let p: FanoutPlatform | null = null;
  const groups: Array<{ pid: number; stop(): Promise<void> }> = [];
  let cpu: Record<string, number> = {};
  let rssMb: Record<string, number> = {};
  let error: string | undefined;
  const result = (partial: Partial<FanoutResult>): FanoutResult => ({
    db: kind,
    ...(topology ? { topology } : {}),
    n,
    ok: error === undefined,
    error,
    finished: 0,
    tasksPerSec: NaN,
    middleSeconds: NaN,
    totalSeconds: NaN,
    dispatch: summarize([]),
    turnaround: summarize([]),
    cpu,
    rssMb,
    ...partial,
  });
  try {
    p = await start(t);
    const token = await p.agentToken();
    for (let g = 0; g < AGENT_PROCESSES; g++) {
      groups.push(
        await startChildProcess({
          server: p.agentServer(g),
          token,
          names: Array.from({ length: CONNECTIONS_PER_PROCESS }, (_, i) => `fan-${g}-${i}`),
          slots: SLOTS,
        }),
      );
    }
    await putJob(p, 'fanout', fanoutDefinition(n));
    const meter = new CpuMeter({
      ...p.cpu,
      agents: () => groups.map((g) => g.pid),
      bench: () => [process.pid],
      ...(kind === 'mariadb' ? { mariadbd: () => pidsByName('mariadbd', 'mysqld') } : {}),
    });
    meter.begin();
    const id = await startRun(p, 'fanout');
    const until = Date.now() + timeoutMs;
    let state: string | null = null;
    let lastLog = Date.now();
    for (;;) {
      state = await runState(p, 'fanout', id);
      if (state && TERMINAL.has(state)) break;
      if (Date.now() > until) {
        error = `run not finished after ${Math.round(timeoutMs / 1000)} s (state ${state}); numbers below are partial`;
        break;
      }
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(`  fanout ${label}: still ${state} after ${Math.round((Date.now() - (until - timeoutMs)) / 1000)} s`);
      }
      await sleep(500);
    }
    cpu = meter.end();
    if (state && state !== 'succeeded' && TERMINAL.has(state)) error = `run ended ${state}`;
    const run = await getRun(p, id);
    rssMb = readPeakRss(p.memory);
    await p.afterRun?.();

    const middle = run.tasks.filter((x) => x.key.startsWith('m'));
    // readyAt is cleared when a task finishes; it was the start task's result time.
    const startTask = run.tasks.find((x) => x.key === 'start');
    const startDone = ms(startTask?.attempts[startTask.attempts.length - 1]?.finishedAt);
    const dispatch: number[] = [];
    const turnaround: number[] = [];
    let firstAssigned = Infinity;
    let lastFinished = -Infinity;
    let finished = 0;
    const byAgentProcess: number[] = Array.from({ length: AGENT_PROCESSES }, () => 0);
    for (const task of middle) {
      const a = task.attempts[0];
      const g = /^fan-(\d+)-/.exec(a?.agent ?? '')?.[1];
      if (g !== undefined && Number(g) < AGENT_PROCESSES) byAgentProcess[Number(g)]!++;
      const ready = ms(task.readyAt) ?? startDone;
      const assigned = ms(a?.assignedAt);
      if (assigned !== null) {
        firstAssigned = Math.min(firstAssigned, assigned);
        if (ready !== null) dispatch.push(assigned - ready);
      }
      const last = task.attempts[task.attempts.length - 1];
      const done = ms(last?.finishedAt);
      if (done !== null && task.state === 'succeeded') {
        finished++;
        lastFinished = Math.max(lastFinished, done);
        if (assigned !== null && task.attempts.length === 1) turnaround.push(done - assigned);
      }
    }
    const middleSeconds = (lastFinished - firstAssigned) / 1000;
    const end = ms(run.finishedAt);
    return result({
      finished,
      tasksPerSec: finished > 0 ? finished / middleSeconds : 0,
      middleSeconds,
      totalSeconds: end !== null ? (end - ms(run.createdAt)!) / 1000 : NaN,
      dispatch: summarize(dispatch),
      turnaround: summarize(turnaround),
      byAgentProcess,
    });
  } catch (err) {
    error = `${err instanceof Error ? err.message : String(err)}${p ? `\nplatform log tail:\n${p.tail()}` : ''}`;
    if (p && Object.keys(rssMb).length === 0) rssMb = readPeakRss(p.memory);
    return result({});
  } finally {
    for (const g of groups) await g.stop().catch(() => undefined);
    await p?.stop().catch(() => undefined);
    await t.cleanup();
  }
}
