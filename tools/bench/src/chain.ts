import type { Platform } from '@baton/testing';
import { startInProcess } from './agents.js';
import { CpuMeter, readPeakRss } from './machine.js';
import { type DbKind, TERMINAL, freshTarget, getRun, launch, putJob, runState, startRun, tail } from './platform.js';
import { type Summary, median, ms, sleep, summarize } from './stats.js';

export const CHAIN_TASKS = 40;
export const CHAIN_RUNS = 5;

export interface ChainResult {
  db: DbKind;
  ok: boolean;
  error?: string;
  totalsMs: number[];
  medianTotalMs: number;
  transitions: Summary;
  cpu: Record<string, number>;
  /** Peak RSS of the platform process (VmHWM), MiB; absent in results saved before it was measured. */
  rssMb?: Record<string, number>;
}

export function chainDefinition(n = CHAIN_TASKS) {
  const key = (i: number) => `t${String(i).padStart(2, '0')}`;
  return {
    description: 'benchmark: a chain of noop tasks',
    tasks: Array.from({ length: n }, (_, i) => ({
      key: key(i),
      type: 'noop',
      ...(i > 0 ? { dependsOn: [key(i - 1)] } : {}),
    })),
  };
}

async function waitFinished(p: Platform, id: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await runState(p, 'chain', id);
    if (s && TERMINAL.has(s)) {
      if (s !== 'succeeded') throw new Error(`run ${id} ended ${s}`);
      return;
    }
    if (Date.now() > until) throw new Error(`run ${id} not finished after ${timeoutMs / 1000} s (state ${s})`);
    await sleep(100);
  }
}

export async function runChain(kind: DbKind, log: (s: string) => void): Promise<ChainResult> {
  const t = await freshTarget(kind);
  let p: Platform | null = null;
  let agents: { stop(): Promise<void> } | null = null;
  const totals: number[] = [];
  const trans: number[] = [];
  let cpu: Record<string, number> = {};
  const peak = () => (p?.proc.pid !== undefined ? readPeakRss({ platform: () => [p!.proc.pid!] }) : {});
  try {
    p = await launch(t);
    const platform = p;
    const token = await p.agentToken();
    agents = await startInProcess({ server: p.grpc, token, names: ['chain-agent'], slots: 4 });
    await putJob(p, 'chain', chainDefinition());
    const meter = new CpuMeter({ platform: () => [platform.proc.pid!], bench: () => [process.pid] });
    for (let i = 0; i <= CHAIN_RUNS; i++) {
      if (i === 1) meter.begin();
      const id = await startRun(p, 'chain');
      await waitFinished(p, id, 60_000);
      if (i === 0) continue; // warm-up
      const run = await getRun(p, id);
      totals.push(ms(run.finishedAt)! - ms(run.createdAt)!);
      for (let k = 1; k < run.tasks.length; k++) {
        const up = run.tasks[k - 1]!;
        const down = run.tasks[k]!;
        const upDone = ms(up.attempts[up.attempts.length - 1]?.finishedAt);
        const downAssigned = ms(down.attempts[0]?.assignedAt);
        if (upDone === null || downAssigned === null) throw new Error(`run ${id}: task ${down.key} lacks timestamps`);
        trans.push(downAssigned - upDone);
      }
      log(`  chain ${kind} run ${i}: ${totals[totals.length - 1]} ms`);
    }
    cpu = meter.end();
    const rssMb = peak();
    return {
      db: kind,
      ok: true,
      totalsMs: totals,
      medianTotalMs: median(totals),
      transitions: summarize(trans),
      cpu,
      rssMb,
    };
  } catch (err) {
    const msg = `${err instanceof Error ? err.message : String(err)}${p ? `\nplatform log tail:\n${tail(p)}` : ''}`;
    return {
      db: kind,
      ok: false,
      error: msg,
      totalsMs: totals,
      medianTotalMs: median(totals),
      transitions: summarize(trans),
      cpu,
      rssMb: peak(),
    };
  } finally {
    await agents?.stop().catch(() => undefined);
    await p?.stop().catch(() => undefined);
    await t.cleanup();
  }
}
