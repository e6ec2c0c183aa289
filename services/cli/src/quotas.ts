import type { ApiClient } from './client.js';
import { CliError } from './client.js';

type Out = (line: string) => void;

interface QuotaView {
  tenantId: string;
  dispatchWeight: number;
  quotas: Array<{ name: string; limit: number | null; used: number; unit: string }>;
}

interface UsageView {
  from: string;
  to: string;
  days: Array<Record<(typeof USAGE_COLUMNS)[number], string | number>>;
  totals: Record<string, number>;
}

const USAGE_COLUMNS = [
  'day',
  'runsStarted',
  'runsSucceeded',
  'runsFailed',
  'taskSeconds',
  'cpuSeconds',
  'agentHours',
] as const;

/** The quota names `baton quota set` takes, as the API names them (`--max-jobs 5` sets maxJobs). */
export const QUOTA_FLAGS = {
  'max-jobs': 'maxJobs',
  'runs-per-minute': 'runsPerMinute',
  'max-concurrent-runs': 'maxConcurrentRuns',
  'max-running-tasks': 'maxRunningTasks',
  'max-cpu-millis': 'maxCpuMillis',
  'max-memory-mb': 'maxMemoryMb',
  'max-agents': 'maxAgents',
  'max-backfill-size': 'maxBackfillSize',
  'dispatch-weight': 'dispatchWeight',
} as const;

/** `5` sets a limit, `none` lifts it; anything else is refused before a call is made. */
export function parseQuotaValue(flag: string, v: string): number | null {
  if (v === 'none') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${flag}: expected a positive integer or "none", got "${v}"`);
  return n;
}

export async function showQuota(api: ApiClient, out: Out): Promise<void> {
  printQuota(await api.request<QuotaView>('GET', '/api/v1/quota'), out);
}

export async function setQuota(
  api: ApiClient,
  tenant: string,
  change: Record<string, number | null>,
  out: Out,
): Promise<void> {
  if (Object.keys(change).length === 0) {
    throw new CliError(
      `nothing to set: pass one of ${Object.keys(QUOTA_FLAGS)
        .map((f) => `--${f}`)
        .join(', ')}`,
    );
  }
  printQuota(await api.request<QuotaView>('PUT', `/api/v1/tenants/${encodeURIComponent(tenant)}/quota`, change), out);
}

function printQuota(q: QuotaView, out: Out): void {
  out(`${'QUOTA'.padEnd(20)} ${'LIMIT'.padStart(12)} ${'USED'.padStart(12)}  COUNTS`);
  for (const l of q.quotas) {
    const limit = l.limit === null ? 'none' : String(l.limit);
    out(`${l.name.padEnd(20)} ${limit.padStart(12)} ${String(l.used).padStart(12)}  ${l.unit}`);
  }
  out(`dispatch weight ${q.dispatchWeight}`);
}

export async function showUsage(
  api: ApiClient,
  o: { from?: string; to?: string; csv?: boolean },
  out: Out,
): Promise<void> {
  const q = new URLSearchParams();
  if (o.from) q.set('from', o.from);
  if (o.to) q.set('to', o.to);
  if (o.csv) {
    q.set('format', 'csv');
    const text = await api.request<string>('GET', `/api/v1/usage?${q}`);
    for (const line of text.split(/\r?\n/)) if (line !== '') out(line);
    return;
  }
  const u = await api.request<UsageView>('GET', `/api/v1/usage${q.size > 0 ? `?${q}` : ''}`);
  const widths = [10, 12, 14, 11, 12, 11, 11];
  const head = ['DAY', 'STARTED', 'SUCCEEDED', 'FAILED', 'TASK-SEC', 'CPU-SEC', 'AGENT-H'];
  const row = (cells: Array<string | number>) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join(' ');
  out(row(head));
  for (const d of u.days) out(row(USAGE_COLUMNS.map((c) => d[c])));
  const t = u.totals;
  out(row(['total', t.runsStarted!, t.runsSucceeded!, t.runsFailed!, t.taskSeconds!, t.cpuSeconds!, t.agentHours!]));
}
