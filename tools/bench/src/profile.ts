import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { sleep } from './stats.js';

/** The platform environment that loads the profiler preload. */
export function profileEnv(dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  return { NODE_OPTIONS: `--require ${join(__dirname, 'cpu-prof-preload.js')}`, BENCH_CPU_PROF_DIR: dir };
}

/** Asks the platform to write its profile; returns the file, or null after 15 s. */
export async function collectProfile(proc: ChildProcess, dir: string): Promise<string | null> {
  const file = join(dir, `platform-${proc.pid}.cpuprofile`);
  proc.kill('SIGUSR2');
  for (let i = 0; i < 150; i++) {
    if (existsSync(file)) {
      await sleep(500);
      return file;
    }
    await sleep(100);
  }
  return null;
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Self time by function, top entries, as "share% name (file)". */
export function topSelf(file: string, n = 15): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[] };
  const self = new Map<string, number>();
  let total = 0;
  for (const node of prof.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const url = node.callFrame.url.replace(/^.*\/(node_modules|services|libs)\//, '$1/');
    const key = `${node.callFrame.functionName || '(anonymous)'} ${url}:${node.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((v / total) * 100).toFixed(1)}% ${k}`);
}

export function listProfiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
}
