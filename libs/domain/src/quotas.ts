/**
 * Quota arithmetic: which of a tenant's quotas refuses an action, and the
 * runs-per-minute token bucket. Pure; the services read use and limits and
 * act on the answer (refuse with the quota named, or let the work wait).
 */

/** Every quota a platform admin can set; each refusal names one of these. */
export const QUOTA_NAMES = [
  'maxJobs',
  'runsPerMinute',
  'maxConcurrentRuns',
  'maxRunningTasks',
  'maxCpuMillis',
  'maxMemoryMb',
  'maxAgents',
  'maxBackfillSize',
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

/** A tenant's limits; null means not limited. */
export type QuotaLimits = { readonly [K in QuotaName]: number | null };

export const NO_QUOTAS: QuotaLimits = Object.fromEntries(QUOTA_NAMES.map((n) => [n, null])) as QuotaLimits;

/** What a quota counts, as the portal and `baton quota` say it. */
export const QUOTA_UNITS: Readonly<Record<QuotaName, string>> = {
  maxJobs: 'jobs',
  runsPerMinute: 'runs a minute',
  maxConcurrentRuns: 'runs running at once',
  maxRunningTasks: 'tasks assigned or running at once',
  maxCpuMillis: 'CPU millis of tasks assigned or running',
  maxMemoryMb: 'memory MB of tasks assigned or running',
  maxAgents: 'agents connected at once',
  maxBackfillSize: 'slots in one backfill',
};

export interface QuotaRefusal {
  readonly quota: QuotaName;
  readonly limit: number;
  /** In use now (before the action). */
  readonly used: number;
  /** What the action asked for. */
  readonly asked: number;
  readonly message: string;
}

/** Whether adding `asked` to `used` goes over `limit` (null: not limited), and what to tell the caller. */
export function exceeds(quota: QuotaName, limit: number | null, used: number, asked = 1): QuotaRefusal | null {
  if (limit === null || used + asked <= limit) return null;
  const message =
    quota === 'maxBackfillSize'
      ? `quota ${quota} is ${limit}: a backfill of ${asked} slots is larger; split the range`
      : `quota ${quota} is ${limit} (${QUOTA_UNITS[quota]}) and ${used} are in use; ${asked} more would exceed it`;
  return { quota, limit, used, asked, message };
}

/** The first of the checks, in order, that its quota refuses; null when all fit. */
export function firstRefusal(
  limits: QuotaLimits,
  checks: ReadonlyArray<{ readonly quota: QuotaName; readonly used: number; readonly asked?: number }>,
): QuotaRefusal | null {
  for (const c of checks) {
    const r = exceeds(c.quota, limits[c.quota], c.used, c.asked ?? 1);
    if (r) return r;
  }
  return null;
}

/**
 * What a task counts against `maxCpuMillis` / `maxMemoryMb`: what it declares
 * in `resources`, or these defaults when it declares nothing (0), so that
 * tasks without declarations cannot run unbounded under a CPU or memory quota.
 */
export const DEFAULT_TASK_CPU_MILLIS = 100;
export const DEFAULT_TASK_MEMORY_MB = 128;

export function quotaResources(declared: { readonly cpuMillis?: number; readonly memoryMb?: number } | undefined): {
  cpuMillis: number;
  memoryMb: number;
} {
  return {
    cpuMillis: declared?.cpuMillis && declared.cpuMillis > 0 ? declared.cpuMillis : DEFAULT_TASK_CPU_MILLIS,
    memoryMb: declared?.memoryMb && declared.memoryMb > 0 ? declared.memoryMb : DEFAULT_TASK_MEMORY_MB,
  };
}

export interface TaskQuotaUse {
  /** Tasks, CPU millis and memory MB of the tenant's tasks assigned or running now. */
  readonly tasks: number;
  readonly cpuMillis: number;
  readonly memoryMb: number;
}

/** The quota that keeps one more task (counting `need`) from starting now, or null. */
export function taskQuotaRefusal(
  limits: Pick<QuotaLimits, 'maxRunningTasks' | 'maxCpuMillis' | 'maxMemoryMb'>,
  use: TaskQuotaUse,
  need: { readonly cpuMillis: number; readonly memoryMb: number },
): QuotaName | null {
  if (limits.maxRunningTasks !== null && use.tasks + 1 > limits.maxRunningTasks) return 'maxRunningTasks';
  if (limits.maxCpuMillis !== null && use.cpuMillis + need.cpuMillis > limits.maxCpuMillis) return 'maxCpuMillis';
  if (limits.maxMemoryMb !== null && use.memoryMb + need.memoryMb > limits.maxMemoryMb) return 'maxMemoryMb';
  return null;
}

/**
 * A token bucket of runs: it holds at most `perMinute` tokens (the burst) and
 * refills at `perMinute` a minute. Tokens are counted in thousandths so the
 * state stores as integers. `at` is when `milliTokens` was true.
 */
export interface RunBucket {
  readonly milliTokens: number;
  readonly at: number;
}

/** The bucket as it is at `now` (a bucket never seen, `null`, is full). */
export function refill(bucket: RunBucket | null, perMinute: number, now: number): RunBucket {
  const cap = perMinute * 1000;
  if (bucket === null) return { milliTokens: cap, at: now };
  const elapsed = Math.max(0, now - bucket.at);
  // perMinute tokens in 60,000 ms = perMinute / 60 milli-tokens a millisecond.
  const milliTokens = Math.min(cap, bucket.milliTokens + Math.floor((elapsed * perMinute) / 60));
  return { milliTokens, at: Math.max(now, bucket.at) };
}

export interface BucketTake {
  /** Tokens granted (0..wanted). */
  readonly granted: number;
  readonly bucket: RunBucket;
  /** When the next token is there, if some were refused (ms from `now`; 0 when all were granted). */
  readonly retryAfterMs: number;
}

/** Takes up to `wanted` tokens at `now`. */
export function takeTokens(bucket: RunBucket | null, perMinute: number, now: number, wanted = 1): BucketTake {
  const b = refill(bucket, perMinute, now);
  const granted = Math.min(wanted, Math.floor(b.milliTokens / 1000));
  const left = b.milliTokens - granted * 1000;
  const next: RunBucket = { milliTokens: left, at: b.at };
  if (granted === wanted) return { granted, bucket: next, retryAfterMs: 0 };
  // Milli-tokens missing for one more, at perMinute / 60 a millisecond.
  const retryAfterMs = perMinute <= 0 ? 60_000 : Math.ceil(((1000 - left) * 60) / perMinute);
  return { granted, bucket: next, retryAfterMs };
}

/** The milliseconds of [start, end) on each UTC day, by the day's first instant (agent-hours per day). */
export function splitByDay(start: number, end: number): Array<[number, number]> {
  const day = 86_400_000;
  const out: Array<[number, number]> = [];
  for (let t = start; t < end;) {
    const d = t - (t % day);
    const next = Math.min(end, d + day);
    out.push([d, next - t]);
    t = next;
  }
  return out;
}
