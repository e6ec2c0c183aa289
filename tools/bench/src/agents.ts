import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentHandle, type AgentLogger, startAgent } from '@baton/agent';

export const quietLogger: AgentLogger = {
  info: () => undefined,
  debug: () => undefined,
  warn: (msg, fields) => process.stderr.write(`[bench agent] WARN ${msg} ${JSON.stringify(fields ?? {})}\n`),
  error: (msg, fields) => process.stderr.write(`[bench agent] ERROR ${msg} ${JSON.stringify(fields ?? {})}\n`),
};

export interface AgentSpec {
  server: string;
  token: string;
  names: string[];
  slots: number;
}

export interface AgentGroup {
  stop(): Promise<void>;
}

/** Agents in this process, one connection each. */
export async function startInProcess(spec: AgentSpec): Promise<AgentGroup> {
  const workDir = mkdtempSync(join(tmpdir(), 'baton-bench-agent-'));
  const handles: AgentHandle[] = [];
  try {
    for (const name of spec.names) {
      const h = startAgent({
        server: spec.server,
        token: spec.token,
        name,
        labels: {},
        slots: spec.slots,
        workDir: join(workDir, name),
        logger: quietLogger,
      });
      handles.push(h);
    }
    await Promise.all(handles.map((h) => h.waitConnected(30_000)));
  } catch (err) {
    await Promise.all(handles.map((h) => h.stop().catch(() => undefined)));
    rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
  return {
    stop: async () => {
      await Promise.all(handles.map((h) => h.stop().catch(() => undefined)));
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export interface ChildAgents extends AgentGroup {
  pid: number;
  /** Connects a deferred group's agents (resolves once all are connected); a no-op otherwise. */
  connect(): Promise<void>;
}

/**
 * Agents in a child process (dist/agent-worker.js), so their CPU is not the
 * bench process's. With `defer` the process starts and loads its modules but
 * connects its agents only when `connect()` is called (Node's start-up then
 * stays out of a measured interval).
 */
export async function startChildProcess(spec: AgentSpec, opts: { defer?: boolean } = {}): Promise<ChildAgents> {
  const child: ChildProcess = fork(join(__dirname, 'agent-worker.js'), [], {
    env: { ...process.env, BENCH_AGENT_SPEC: JSON.stringify(spec), BENCH_AGENT_DEFER: opts.defer ? '1' : '' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  /** The next message: `want` resolves, anything else (or an exit) rejects. */
  const next = (want: 'ready' | 'loaded', what: string) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`agent process did not ${what} within 30 s`)), 30_000);
      const onExit = (code: number | null) => {
        clearTimeout(t);
        reject(new Error(`agent process exited with ${code}`));
      };
      child.once('message', (m: { ready?: boolean; loaded?: boolean; error?: string }) => {
        clearTimeout(t);
        child.off('exit', onExit);
        if (m[want]) resolve();
        else reject(new Error(`agent process: ${m.error ?? 'failed'}`));
      });
      child.once('exit', onExit);
    }).catch(async (err) => {
      child.kill('SIGKILL');
      await exited;
      throw err;
    });
  await next(opts.defer ? 'loaded' : 'ready', opts.defer ? 'start' : 'connect');
  let connected = !opts.defer;
  return {
    pid: child.pid!,
    connect: async () => {
      if (connected) return;
      connected = true;
      const ready = next('ready', 'connect');
      child.send({ connect: true });
      await ready;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ stop: true });
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * `connections` agent connections of `slots` slots, named `${prefix}-${g}-${i}`,
 * in child processes of at most `perProcess` connections each.
 */
export async function startAgentProcesses(opts: {
  server: string;
  token: string;
  prefix: string;
  connections: number;
  slots: number;
  perProcess?: number;
  /** Start the processes but connect only on `connect()` (see startChildProcess). */
  defer?: boolean;
}): Promise<ChildAgents[]> {
  const per = opts.perProcess ?? 5;
  const specs: AgentSpec[] = [];
  for (let g = 0, left = opts.connections; left > 0; g++, left -= per) {
    const n = Math.min(per, left);
    specs.push({
      server: opts.server,
      token: opts.token,
      names: Array.from({ length: n }, (_, i) => `${opts.prefix}-${g}-${i}`),
      slots: opts.slots,
    });
  }
  // In parallel: no process's agents get a head start on the others'.
  const started = await Promise.allSettled(specs.map((s) => startChildProcess(s, { defer: opts.defer })));
  const groups = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(groups.map((g) => g.stop().catch(() => undefined)));
    throw failed.reason;
  }
  return groups;
}

/** Connects deferred groups' agents, all at once. */
export async function connectAll(groups: readonly ChildAgents[]): Promise<void> {
  await Promise.all(groups.map((g) => g.connect()));
}
