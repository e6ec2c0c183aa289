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

/** Agents in a child process (dist/agent-worker.js), so their CPU is not the bench process's. */
export async function startChildProcess(spec: AgentSpec): Promise<AgentGroup & { pid: number }> {
  const child: ChildProcess = fork(join(__dirname, 'agent-worker.js'), [], {
    env: { ...process.env, BENCH_AGENT_SPEC: JSON.stringify(spec) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('agent process did not connect within 30 s')), 30_000);
    child.once('message', (m: { ready?: boolean; error?: string }) => {
      clearTimeout(t);
      if (m.ready) resolve();
      else reject(new Error(`agent process: ${m.error ?? 'failed'}`));
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`agent process exited with ${code}`));
    });
  }).catch(async (err) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
  return {
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ stop: true });
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
