import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Platform, type TestDatabase, createTestDatabase, startPlatform } from '@baton/testing';

export type DbKind = 'sqlite' | 'mariadb';

/**
 * Production timings (the test fixtures' FAST_TIMINGS shorten them), a large
 * dispatch batch for the fan-out, info logs as in production.
 */
export const BENCH_ENV: Record<string, string> = {
  BATON_HEARTBEAT_INTERVAL_MS: '5000',
  BATON_LEASE_TTL_MS: '30000',
  BATON_ACK_TIMEOUT_MS: '10000',
  BATON_SWEEP_INTERVAL_MS: '1000',
  BATON_KILL_GRACE_MS: '5000',
  BATON_TRIGGER_POLL_MS: '5000',
  BATON_DISPATCH_BATCH: '500',
  BATON_LOG_LEVEL: 'info',
};

export interface BenchTarget {
  kind: DbKind;
  db: TestDatabase;
  /** BATON_DATA_DIR of the platform (holds the SQLite file). */
  dataDir: string;
  /** The database as @baton/persistence opens it. */
  target: { kind: 'sqlite'; path: string } | { kind: 'mysql'; url: string };
  cleanup(): Promise<void>;
}

/** A fresh database (and data dir) for one scenario. */
export async function freshTarget(kind: DbKind): Promise<BenchTarget> {
  const db = await createTestDatabase(kind);
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  return {
    kind,
    db,
    dataDir,
    target: db.url ? { kind: 'mysql', url: db.url } : { kind: 'sqlite', path: join(dataDir, 'baton.db') },
    cleanup: async () => {
      await db.drop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Options {
  /** Extra platform environment (e.g. NODE_OPTIONS for a CPU profile). */
  env?: Record<string, string>;
}

export async function launch(t: BenchTarget, opts: Options = {}): Promise<Platform> {
  return startPlatform({
    databaseUrl: t.db.url,
    localAgent: false,
    env: { ...BENCH_ENV, BATON_DATA_DIR: t.dataDir, ...opts.env },
  });
}

/**
 * What the scenario helpers below call: a standalone platform, or an adapter
 * routing each call to the owning service of the production topology.
 */
export interface ApiTarget {
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** PUT a job; throws with the problem document on failure. */
export async function putJob(p: ApiTarget, name: string, def: unknown): Promise<void> {
  const r = await p.api('PUT', `/api/v1/jobs/${name}`, def);
  if (r.status !== 200 && r.status !== 201) throw new Error(`PUT job ${name}: ${r.status} ${JSON.stringify(r.body)}`);
}

export async function startRun(p: ApiTarget, name: string): Promise<string> {
  const r = await p.api<{ id: string }>('POST', `/api/v1/jobs/${name}/runs`, {});
  if (r.status !== 201) throw new Error(`start run of ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

export interface RunView {
  id: string;
  state: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  tasks: Array<{
    key: string;
    state: string;
    readyAt: string | null;
    startedAt: string | null;
    finishedAt: string | null;
    attempts: Array<{
      number: number;
      state: string;
      assignedAt: string;
      /** The agent's name. */
      agent?: string;
      startedAt: string | null;
      finishedAt: string | null;
    }>;
  }>;
}

export async function getRun(p: ApiTarget, id: string): Promise<RunView> {
  const r = await p.api<RunView>('GET', `/api/v1/runs/${id}`);
  if (r.status !== 200) throw new Error(`GET run ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The run's state from the cheap list endpoint (no task rows). */
export async function runState(p: ApiTarget, job: string, id: string): Promise<string | null> {
  const r = await p.api<{ items: Array<{ id: string; state: string }> }>('GET', `/api/v1/runs?job=${job}&limit=5`);
  if (r.status !== 200) throw new Error(`GET runs: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.items.find((x) => x.id === id)?.state ?? null;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/** The last lines of the platform's output, for error reports. */
export function tail(p: Platform | null, lines = 15): string {
  if (!p) return '';
  return p.output().trimEnd().split('\n').slice(-lines).join('\n');
}
