import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { type ApiClient, CliError } from './client.js';

type Out = (line: string) => void;

interface TaskView {
  key: string;
  state: string;
  attemptsUsed: number;
  exitCode: number | null;
  error: string | null;
  waitingReason: string | null;
  waitingUntil: string | null;
  attempts: Array<{ number: number; state: string; agent: string }>;
}
interface RunView {
  id: string;
  job: string;
  jobVersion: number;
  state: string;
  logicalDate: string;
  createdAt: string;
  finishedAt: string | null;
  trigger: { type: string };
  tasks: TaskView[];
}

const TERMINAL_RUN = new Set(['succeeded', 'failed', 'cancelled']);

/** As the job API: a document whose aliases resolve to more nodes than this is refused ("billion laughs"). */
const MAX_YAML_ALIAS_COUNT = 100;

/** Reads job definitions from a YAML/JSON file; syntax errors name the line. */
export function readDefinitions(file: string, text = readFileSync(file, 'utf8')): Array<Record<string, unknown>> {
  const docs = parseAllDocuments(text);
  const out: Array<Record<string, unknown>> = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const line = e.linePos?.[0];
      throw new CliError(`${file}:${line ? `${line.line}:${line.col}` : '?'}: ${e.message.split('\n')[0]}`);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT }) as unknown;
    } catch (err) {
      // yaml reports alias problems (too many, or unresolved) as ReferenceErrors while building the value.
      if (!(err instanceof ReferenceError)) throw err;
      const line = text.slice(0, doc.range[0]).split('\n').length;
      const reason = /excessive alias count/i.test(err.message)
        ? `YAML aliases expand to more than ${MAX_YAML_ALIAS_COUNT} nodes; such a document is refused`
        : `YAML: ${err.message}`;
      throw new CliError(`${file}:${line}: ${reason}`);
    }
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new CliError(`${file}: each document must be a job definition (a mapping)`);
    }
    const def = value as Record<string, unknown>;
    if (typeof def.name !== 'string') {
      const line = doc.contents ? text.slice(0, doc.contents.range[0]).split('\n').length : 1;
      throw new CliError(`${file}:${line}: the job definition has no "name"`);
    }
    out.push(def);
  }
  if (out.length === 0) throw new CliError(`${file}: no job definition found`);
  return out;
}

export async function apply(api: ApiClient, file: string, out: Out): Promise<void> {
  for (const def of readDefinitions(file)) {
    const name = def.name as string;
    const r = await api.request<{
      version: number;
      created: boolean;
      changed: boolean;
      triggers: Array<{ nextFireAt: string | null }>;
    }>('PUT', `/api/v1/jobs/${encodeURIComponent(name)}`, def);
    const what = r.created ? 'created' : r.changed ? 'updated' : 'unchanged';
    const next = r.triggers
      .map((t) => t.nextFireAt)
      .filter(Boolean)
      .sort()[0];
    out(`job ${name}: ${what} (version ${r.version})${next ? `, next fire ${next}` : ''}`);
  }
}

export function parseParams(pairs: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CliError(`--param ${p}: expected key=value`);
    const raw = p.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    params[p.slice(0, eq)] = value;
  }
  return params;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

function taskLine(t: TaskView): string {
  const last = t.attempts[t.attempts.length - 1];
  const where = last ? ` attempt ${last.number} on ${last.agent}` : '';
  const exit = t.exitCode !== null ? ` exit=${t.exitCode}` : '';
  const err = t.error && t.state !== 'succeeded' ? ` (${t.error.split('\n')[0]})` : '';
  const waiting = t.waitingReason
    ? ` waiting: ${t.waitingReason}${t.waitingUntil ? ` until ${t.waitingUntil}` : ''}`
    : '';
  return `  ${pad(t.key, 20)} ${pad(t.state, 16)}${where}${exit}${err}${waiting}`;
}

export async function triggerRun(
  api: ApiClient,
  job: string,
  opts: {
    params: Record<string, unknown>;
    logicalDate?: string;
    idempotencyKey?: string;
    wait: boolean;
    pollMs?: number;
  },
  out: Out,
): Promise<number> {
  const run = await api.request<RunView>('POST', `/api/v1/jobs/${encodeURIComponent(job)}/runs`, {
    params: opts.params,
    ...(opts.logicalDate ? { logicalDate: opts.logicalDate } : {}),
    ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
  });
  out(`run ${run.id} (job ${run.job} v${run.jobVersion}) ${run.state}`);
  if (!opts.wait) return 0;
  return waitRun(api, run.id, out, opts.pollMs ?? 250);
}

export async function waitRun(api: ApiClient, id: string, out: Out, pollMs: number): Promise<number> {
  const seen = new Map<string, string>();
  for (;;) {
    const run = await api.request<RunView>('GET', `/api/v1/runs/${id}`);
    for (const t of run.tasks) {
      const sig = `${t.state}/${t.attempts.length}`;
      if (seen.get(t.key) !== sig) {
        seen.set(t.key, sig);
        out(taskLine(t));
      }
    }
    if (TERMINAL_RUN.has(run.state)) {
      out(`run ${run.id} ${run.state}`);
      return run.state === 'succeeded' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export async function showRun(api: ApiClient, id: string, out: Out): Promise<void> {
  const run = await api.request<RunView>('GET', `/api/v1/runs/${id}`);
  out(
    `run ${run.id}  job ${run.job} v${run.jobVersion}  ${run.state}  logical date ${run.logicalDate}  (${run.trigger.type})`,
  );
  for (const t of run.tasks) out(taskLine(t));
}

export async function listRuns(api: ApiClient, opts: { job?: string; state?: string; limit: string }, out: Out) {
  const q = new URLSearchParams({ limit: opts.limit });
  if (opts.job) q.set('job', opts.job);
  if (opts.state) q.set('state', opts.state);
  const page = await api.request<{ items: RunView[] }>('GET', `/api/v1/runs?${q}`);
  out(`${pad('RUN', 37)} ${pad('JOB', 20)} ${pad('STATE', 10)} ${pad('TRIGGER', 8)} CREATED`);
  for (const r of page.items) {
    out(`${pad(r.id, 37)} ${pad(r.job, 20)} ${pad(r.state, 10)} ${pad(r.trigger.type, 8)} ${r.createdAt}`);
  }
}

const LIVE_TASK = new Set(['pending', 'queued', 'assigned', 'running', 'up_for_retry', 'compensating']);

/** Prints a task's log; with `follow`, keeps printing new output until the attempt ends. */
export async function logs(
  api: ApiClient,
  runId: string,
  key: string,
  opts: { attempt?: string; follow?: boolean; pollMs?: number },
  write: (s: string) => void,
) {
  let since = -1;
  let attempt = opts.attempt;
  for (;;) {
    const q = new URLSearchParams({ since: String(since) });
    if (attempt) q.set('attempt', attempt);
    const r = await api.exchange<string>('GET', `/api/v1/runs/${runId}/tasks/${encodeURIComponent(key)}/logs?${q}`);
    write(r.body);
    if (!opts.follow) return;
    since = Number(r.headers.get('x-baton-last-seq') ?? since);
    const shown = r.headers.get('x-baton-attempt');
    // Stay on one attempt; a retry's output starts with a fresh sequence.
    if (!attempt && shown) attempt = shown;
    const attemptState = r.headers.get('x-baton-attempt-state');
    const taskState = r.headers.get('x-baton-task-state') ?? '';
    const attemptLive = attemptState === 'assigned' || attemptState === 'running';
    const waitingForFirst = attemptState === null && LIVE_TASK.has(taskState);
    if (!attemptLive && !waitingForFirst) {
      if (r.body.length === 0) return;
      continue; // one more read for output written just before the end
    }
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 300));
  }
}

export async function cancelRun(api: ApiClient, id: string, reason: string | undefined, out: Out) {
  const run = await api.request<RunView>('POST', `/api/v1/runs/${id}/cancel`, reason ? { reason } : {});
  out(`run ${run.id} ${run.state}`);
}

export async function rerunRun(api: ApiClient, id: string, mode: string, wait: boolean, out: Out): Promise<number> {
  const run = await api.request<RunView>('POST', `/api/v1/runs/${id}/rerun`, { mode });
  out(`run ${run.id} (rerun of ${id}, ${mode}) ${run.state}`);
  return wait ? waitRun(api, run.id, out, 250) : 0;
}

export async function markTask(api: ApiClient, id: string, key: string, state: string, out: Out) {
  const run = await api.request<RunView>('POST', `/api/v1/runs/${id}/tasks/${encodeURIComponent(key)}/mark`, { state });
  out(`task ${key} marked ${state}; run ${run.id} ${run.state}`);
}

export async function listJobs(api: ApiClient, out: Out) {
  const page = await api.request<{
    items: Array<{ name: string; version: number; triggers: number; updatedAt: string }>;
  }>('GET', '/api/v1/jobs?limit=500');
  out(`${pad('JOB', 30)} ${pad('VERSION', 8)} ${pad('TRIGGERS', 9)} UPDATED`);
  for (const j of page.items)
    out(`${pad(j.name, 30)} ${pad(String(j.version), 8)} ${pad(String(j.triggers), 9)} ${j.updatedAt}`);
}

interface PoolView {
  name: string;
  slots: number;
  usedSlots: number;
  queuedTasks: number;
  description: string | null;
}

export async function listPools(api: ApiClient, out: Out) {
  const page = await api.request<{ items: PoolView[] }>('GET', '/api/v1/pools');
  out(`${pad('POOL', 24)} ${pad('SLOTS', 11)} ${pad('QUEUED', 7)} DESCRIPTION`);
  for (const p of page.items) {
    out(
      `${pad(p.name, 24)} ${pad(`${p.usedSlots}/${p.slots}`, 11)} ${pad(String(p.queuedTasks), 7)} ${p.description ?? ''}`,
    );
  }
}

export async function setPool(api: ApiClient, name: string, slots: string, description: string | undefined, out: Out) {
  const n = Number(slots);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--slots must be a whole number of slots, got "${slots}"`);
  const p = await api.request<PoolView>('PUT', `/api/v1/pools/${encodeURIComponent(name)}`, {
    slots: n,
    ...(description !== undefined ? { description } : {}),
  });
  out(`pool ${p.name}: ${p.usedSlots}/${p.slots} slots in use, ${p.queuedTasks} tasks queued`);
}

export async function listAgents(api: ApiClient, out: Out) {
  const page = await api.request<{
    items: Array<{
      name: string;
      status: string;
      slots: number;
      running: number;
      labels: Record<string, string>;
      lastSeenAt: string;
    }>;
  }>('GET', '/api/v1/agents');
  out(`${pad('AGENT', 20)} ${pad('STATUS', 13)} ${pad('SLOTS', 9)} ${pad('LABELS', 30)} LAST SEEN`);
  for (const a of page.items) {
    const labels = Object.entries(a.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    out(
      `${pad(a.name, 20)} ${pad(a.status, 13)} ${pad(`${a.running}/${a.slots}`, 9)} ${pad(labels || '-', 30)} ${a.lastSeenAt}`,
    );
  }
}

/** `baton backfill` options as commander hands them over. */
export interface BackfillOptions {
  from: string;
  to: string;
  maxActiveRuns: string;
  trigger: string;
  dryRun?: boolean;
  rerunExisting?: boolean;
  wait?: boolean;
  pollMs?: number;
}

export async function backfill(api: ApiClient, job: string, opts: BackfillOptions, out: Out): Promise<number> {
  const body = {
    from: opts.from,
    to: opts.to,
    maxActiveRuns: Number(opts.maxActiveRuns),
    trigger: Number(opts.trigger),
    dryRun: !!opts.dryRun,
    rerunExisting: !!opts.rerunExisting,
  };
  if (opts.dryRun) {
    const r = await api.request<{
      toRun: number;
      skipped: number;
      slots: Array<{ logicalDate: string; existingRun: { id: string; state: string } | null; action: string }>;
    }>('POST', `/api/v1/jobs/${encodeURIComponent(job)}/backfills`, body);
    out(`${pad('SLOT', 26)} ${pad('ACTION', 7)} EXISTING RUN`);
    for (const s of r.slots)
      out(
        `${pad(s.logicalDate, 26)} ${pad(s.action, 7)} ${s.existingRun ? `${s.existingRun.id} ${s.existingRun.state}` : '-'}`,
      );
    const hint = r.skipped > 0 ? ' (they have runs; --rerun-existing runs them again)' : '';
    out(`${r.slots.length} slots: ${r.toRun} to run, ${r.skipped} skipped${hint}`);
    return 0;
  }
  type Backfill = {
    id: string;
    state: string;
    slots: number;
    started: number;
    skipped: number;
    runs: Record<string, number>;
  };
  let b = await api.request<Backfill>('POST', `/api/v1/jobs/${encodeURIComponent(job)}/backfills`, body);
  out(`backfill ${b.id}: ${b.slots} slots, at most ${body.maxActiveRuns} at a time`);
  if (!opts.wait) return 0;
  let last = '';
  for (;;) {
    const line = `  started ${b.started}/${b.slots}  skipped ${b.skipped}  ${Object.entries(b.runs)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`.trimEnd();
    if (line !== last) out((last = line));
    if (b.state !== 'running') break;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    b = await api.request<Backfill>('GET', `/api/v1/backfills/${b.id}`);
  }
  out(`backfill ${b.id} ${b.state}`);
  return b.runs.failed ? 1 : 0;
}

export async function listSlots(api: ApiClient, job: string, limit: string, out: Out) {
  const r = await api.request<{ items: Array<{ slot: string; outcome: string; runId: string | null }> }>(
    'GET',
    `/api/v1/jobs/${encodeURIComponent(job)}/slots?limit=${encodeURIComponent(limit)}`,
  );
  out(`${pad('SLOT', 26)} ${pad('OUTCOME', 20)} RUN`);
  for (const s of r.items) out(`${pad(s.slot, 26)} ${pad(s.outcome, 20)} ${s.runId ?? '-'}`);
}

export interface BacktestOptions {
  finishBy?: string;
  startBy?: string;
  maxDuration?: string;
  timezone?: string;
  runs?: string;
}

/** `baton sla backtest`: how often the job's past runs would have met a proposed SLA; exit 1 when any missed. */
export async function slaBacktest(api: ApiClient, job: string, o: BacktestOptions, out: Out): Promise<number> {
  const sla = {
    ...(o.finishBy !== undefined ? { finishBy: o.finishBy } : {}),
    ...(o.startBy !== undefined ? { startBy: o.startBy } : {}),
    ...(o.maxDuration !== undefined ? { maxDuration: o.maxDuration } : {}),
    ...(o.timezone !== undefined ? { timezone: o.timezone } : {}),
  };
  const r = await api.request<{
    runs: number;
    met: number;
    missed: number;
    metRatio: number | null;
    worstLatenessMs: number;
    from: string | null;
    to: string | null;
    misses: Array<{
      runId: string;
      logicalDate: string;
      state: string;
      reason: string | null;
      lateByMs: number | null;
    }>;
  }>('POST', `/api/v1/jobs/${encodeURIComponent(job)}/sla/backtest`, {
    sla,
    ...(o.runs !== undefined ? { runs: Number(o.runs) } : {}),
  });
  if (r.runs === 0) {
    out(`job ${job} has no finished runs to backtest`);
    return 0;
  }
  const pct = ((r.metRatio ?? 0) * 100).toFixed(1);
  out(`${r.met} of ${r.runs} runs (${pct} %) would have met it (logical dates ${r.from} .. ${r.to})`);
  if (r.missed > 0) {
    out(`worst lateness ${(r.worstLatenessMs / 1000).toFixed(1)} s; misses, latest first:`);
    out(`${pad('LOGICAL DATE', 26)} ${pad('RUN', 38)} ${pad('STATE', 10)} WHY`);
    for (const m of r.misses) {
      const late = m.lateByMs ? ` (${(m.lateByMs / 1000).toFixed(1)} s late)` : '';
      out(`${pad(m.logicalDate, 26)} ${pad(m.runId, 38)} ${pad(m.state, 10)} ${m.reason ?? ''}${late}`);
    }
  }
  return r.missed > 0 ? 1 : 0;
}

export interface AlertsOptions {
  rule?: string;
  job?: string;
  state?: string;
  limit: string;
}

/** `baton alerts`: the tenant's alert history, newest first. */
export async function listAlerts(api: ApiClient, o: AlertsOptions, out: Out): Promise<void> {
  const q = new URLSearchParams({ limit: o.limit });
  if (o.rule) q.set('rule', o.rule);
  if (o.job) q.set('job', o.job);
  if (o.state) q.set('state', o.state);
  const r = await api.request<{
    items: Array<{
      createdAt: string;
      event: string;
      resolved: boolean;
      rule: string;
      channel: string;
      job: string | null;
      runId: string | null;
      state: string;
      attempts: number;
      reason: string | null;
      lastError: string | null;
    }>;
  }>('GET', `/api/v1/alerts?${q.toString()}`);
  out(
    `${pad('WHEN', 25)} ${pad('EVENT', 18)} ${pad('RULE', 16)} ${pad('CHANNEL', 12)} ${pad('JOB', 16)} ${pad('STATE', 11)} ${pad('TRIES', 5)} RUN / WHY`,
  );
  for (const a of r.items) {
    const event = a.resolved ? `${a.event} (ok)` : a.event;
    const why = [a.runId ?? '', a.reason ?? '', a.lastError ? `last error: ${a.lastError}` : '']
      .filter(Boolean)
      .join('  ');
    out(
      `${pad(a.createdAt, 25)} ${pad(event, 18)} ${pad(a.rule, 16)} ${pad(a.channel, 12)} ${pad(a.job ?? '-', 16)} ${pad(a.state, 11)} ${pad(String(a.attempts), 5)} ${why}`,
    );
  }
}
