import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Platform, type TestDatabase, callApi, createTestDatabase, startPlatform } from '@baton/testing';
import type { QueryCounter } from './queries.js';

export type DbKind = 'sqlite' | 'mariadb';

/**
 * Production timings (the test fixtures' FAST_TIMINGS shorten them), a large
 * dispatch batch for the fan-out, info logs as in production; no per-key call
 * limit (the setups create thousands of jobs and runs with one key).
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
  BATON_RATE_LIMIT_PER_MINUTE: '0',
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
  /** Count the platform's database statements (loads dist/query-count-preload.js). */
  queries?: QueryCounter;
}

/** Adds a query counter's environment to a process environment (its NODE_OPTIONS after any already there). */
export function withQueryCount(env: Record<string, string>, counting: Record<string, string>): Record<string, string> {
  const { NODE_OPTIONS: preload, ...rest } = counting;
  Object.assign(env, rest);
  if (preload) env.NODE_OPTIONS = env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ${preload}` : preload;
  return env;
}

export async function launch(t: BenchTarget, opts: Options = {}): Promise<Platform> {
  const env: Record<string, string> = { ...BENCH_ENV, BATON_DATA_DIR: t.dataDir, ...opts.env };
  if (opts.queries) withQueryCount(env, opts.queries.env());
  return startPlatform({ databaseUrl: t.db.url, localAgent: false, env });
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
    /** Why a task that is not running waits (null when it does not). */
    waitingReason?: string | null;
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

/** REST calls as another tenant (its own API key) on the standalone platform. */
export function asTenant(p: Platform, token: string): ApiTarget {
  return { api: <T>(method: string, path: string, body?: unknown) => callApi<T>(p.url, token, method, path, body) };
}

/** A new tenant (as the bootstrap admin) and its first admin key. */
export async function createTenant(p: Platform, name: string): Promise<{ id: string; api: ApiTarget }> {
  const r = await p.api<{ id: string; adminToken: string }>('POST', '/api/v1/tenants', { name });
  if (r.status !== 201) throw new Error(`create tenant ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return { id: r.body.id, api: asTenant(p, r.body.adminToken) };
}

/** Sets a tenant's dispatch weight (as the bootstrap admin). */
export async function setDispatchWeight(p: Platform, tenantId: string, weight: number): Promise<void> {
  const r = await p.api('PUT', `/api/v1/tenants/${tenantId}/quota`, { dispatchWeight: weight });
  if (r.status !== 200) throw new Error(`quota of ${tenantId}: ${r.status} ${JSON.stringify(r.body)}`);
}

/** An agent token of the caller's tenant. */
export async function agentTokenOf(p: ApiTarget, name = 'bench'): Promise<string> {
  const r = await p.api<{ token: string }>('POST', '/api/v1/agent-tokens', { name });
  if (r.status !== 201) throw new Error(`agent token: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/** Starts `n` runs of a job, `concurrency` requests at a time; returns their ids in start order. */
export async function startRuns(
  p: ApiTarget,
  name: string,
  n: number,
  concurrency = 16,
  onStarted?: (id: string) => void,
): Promise<string[]> {
  const ids: string[] = new Array<string>(n);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      ids[i] = await startRun(p, name);
      onStarted?.(ids[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return ids;
}

/** Adds the waiting reasons of a run's tasks (those that have one) to `into`. */
export async function tallyWaiting(p: ApiTarget, id: string, into: Record<string, number>): Promise<void> {
  const run = await getRun(p, id);
  for (const t of run.tasks) if (t.waitingReason) into[t.waitingReason] = (into[t.waitingReason] ?? 0) + 1;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/** The last lines of the platform's output, for error reports. */
export function tail(p: Platform | null, lines = 15): string {
  if (!p) return '';
  return p.output().trimEnd().split('\n').slice(-lines).join('\n');
}
