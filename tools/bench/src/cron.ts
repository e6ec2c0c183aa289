import { nextFireTime, parseJobDefinition } from '@baton/domain';
import { Database, JobEntity, JobVersionEntity, TenantEntity, TriggerEntity, newId } from '@baton/persistence';
import type { Platform } from '@baton/testing';
import { CpuMeter, pidsByName, readPeakRss } from './machine.js';
import { collectProfile, profileEnv, topSelf } from './profile.js';
import { type BenchTarget, type DbKind, freshTarget, launch, tail } from './platform.js';
import { type Summary, sleep, summarize } from './stats.js';

export const CRON_TENANTS = 1_000;
/** Every trigger fires once per 120 s cycle; trigger i at second i % 120 of the cycle. */
const CYCLE_S = 120;
/** Time allowed from the end of the inserts to the platform being ready before the first slot. */
const STARTUP_MARGIN_MS = 20_000;

/**
 * Trigger i fires at second i % 60 of every minute whose parity is
 * floor(i / 60) % 2, i.e. at offset i % 120 of each 120 s cycle (epoch
 * minutes and minutes-of-hour have the same parity): T / 120 slots per second.
 */
export function cronFor(i: number): string {
  return `${i % 60} ${Math.floor(i / 60) % 2}/2 * * * *`;
}

/** The first slot of trigger i at or after `from` (ms). */
export function firstSlot(i: number, from: number): number {
  const off = (i % CYCLE_S) * 1000;
  const cycle = Math.floor(from / (CYCLE_S * 1000)) * CYCLE_S * 1000;
  const c = cycle + off;
  return c >= from ? c : c + CYCLE_S * 1000;
}

export interface CronResult {
  db: DbKind;
  triggers: number;
  ok: boolean;
  error?: string;
  insertSeconds: number;
  windowSeconds: number;
  windowStart: string;
  expected: number;
  fired: number;
  missed: number;
  doubled: number;
  dedupeDuplicates: number;
  delay: Summary;
  /** Per second of the window, slots due (expected) and the largest fire delay (ms). */
  worstSecond: { second: number; due: number; maxDelayMs: number } | null;
  cpu: Record<string, number>;
  /** Peak RSS of the platform process (VmHWM), MiB; absent in results saved before it was measured. */
  rssMb?: Record<string, number>;
}

function checkSpread(): void {
  const from = Date.UTC(2030, 0, 1, 0, 0, 7, 500);
  for (let i = 0; i < 2 * CYCLE_S + 7; i++) {
    const want = nextFireTime(cronFor(i), 'UTC', new Date(from - 1))?.getTime();
    if (want !== firstSlot(i, from)) throw new Error(`cron spread: trigger ${i} ${cronFor(i)} fires at ${want}`);
  }
}

async function insertTriggers(t: BenchTarget, n: number): Promise<{ ids: string[][] }> {
  const db = await Database.open(t.target, { migrate: true });
  try {
    const now = Date.now();
    const tenants: TenantEntity[] = Array.from({ length: CRON_TENANTS }, (_, k) => ({
      id: newId(),
      name: `bench-tenant-${k}`,
      createdAt: now,
      state: 'active',
      stateReason: null,
      stateChangedAt: null,
    }));
    const groups: string[][] = Array.from({ length: CYCLE_S }, () => []);
    await db.tx(async (m) => {
      for (let k = 0; k < tenants.length; k += 500) await m.insert(TenantEntity, tenants.slice(k, k + 500));
    });
    const CHUNK = 5_000;
    for (let start = 0; start < n; start += CHUNK) {
      const jobs: JobEntity[] = [];
      const versions: JobVersionEntity[] = [];
      const triggers: TriggerEntity[] = [];
      for (let i = start; i < Math.min(n, start + CHUNK); i++) {
        const tenantId = tenants[i % CRON_TENANTS]!.id;
        const name = `cron-${i}`;
        const parsed = parseJobDefinition({
          name,
          triggers: [{ type: 'cron', cron: cronFor(i), timezone: 'UTC' }],
          tasks: [{ key: 'run', type: 'noop' }],
        });
        if (!parsed.ok) throw new Error(`job ${name}: ${JSON.stringify(parsed.errors)}`);
        const def = parsed.value;
        const trigger = def.triggers[0]!;
        if (trigger.type !== 'cron') throw new Error(`job ${name}: expected a cron trigger`);
        // The trigger row's spec: the definition's trigger without its type and switch.
        const { type: _type, enabled: _enabled, ...spec } = trigger;
        const jobId = newId();
        jobs.push({ id: jobId, tenantId, name, currentVersion: 1, createdAt: now, updatedAt: now });
        versions.push({ id: newId(), tenantId, jobId, version: 1, definition: def, createdAt: now });
        const id = newId();
        groups[i % CYCLE_S]!.push(id);
        triggers.push({
          id,
          tenantId,
          jobId,
          jobName: name,
          position: 0,
          type: 'cron',
          spec,
          enabled: true,
          // Set below, once the inserts are done and the platform's start is near.
          nextFireAt: null,
          lastFireAt: null,
          createdAt: now,
          anchorAt: null,
        });
      }
      await db.tx(async (m) => {
        for (let k = 0; k < jobs.length; k += 500) {
          await m.insert(JobEntity, jobs.slice(k, k + 500));
          await m.insert(JobVersionEntity, versions.slice(k, k + 500) as never);
          await m.insert(TriggerEntity, triggers.slice(k, k + 500) as never);
        }
      });
    }
    return { ids: groups };
  } finally {
    await db.close();
  }
}

/** Sets every trigger's next_fire_at to its first slot at or after `from`. */
async function arm(t: BenchTarget, groups: string[][], from: number): Promise<void> {
  const db = await Database.open(t.target, { migrate: false });
  try {
    await db.tx(async (m) => {
      for (const [off, ids] of groups.entries()) {
        const at = firstSlot(off, from);
        for (let k = 0; k < ids.length; k += 500) {
          const part = ids.slice(k, k + 500);
          await m.query(`UPDATE triggers SET next_fire_at = ? WHERE id IN (${part.map(() => '?').join(',')})`, [
            at,
            ...part,
          ]);
        }
      }
    });
  } finally {
    await db.close();
  }
}

interface RunRow {
  trigger_id: string;
  tenant_id: string;
  dedupe_key: string;
  logical_date: number | string;
  created_at: number | string;
  started_at: number | string | null;
}

export async function runCron(kind: DbKind, n: number, windowS: number, log: (s: string) => void): Promise<CronResult> {
  const t = await freshTarget(kind);
  let p: Platform | null = null;
  let cpu: Record<string, number> = {};
  const base: CronResult = {
    db: kind,
    triggers: n,
    ok: false,
    insertSeconds: NaN,
    windowSeconds: windowS,
    windowStart: '',
    expected: 0,
    fired: 0,
    missed: 0,
    doubled: 0,
    dedupeDuplicates: 0,
    delay: summarize([]),
    worstSecond: null,
    cpu,
  };
  let reader: Database | null = null;
  try {
    checkSpread();
    const t0 = performance.now();
    const { ids } = await insertTriggers(t, n);
    base.insertSeconds = (performance.now() - t0) / 1000;
    log(`  cron ${kind}: inserted ${n} triggers over ${CRON_TENANTS} tenants in ${base.insertSeconds.toFixed(1)} s`);
    const armedFrom = Math.ceil((Date.now() + STARTUP_MARGIN_MS) / 1000) * 1000;
    await arm(t, ids, armedFrom);
    // BENCH_PROFILE_DIR: a CPU profile of the platform over the whole scenario (written when it stops).
    const profileDir = process.env.BENCH_PROFILE_DIR ?? null;
    p = await launch(t, { env: profileDir ? profileEnv(profileDir) : {} });
    const platform = p;
    const ready = Date.now();
    if (ready > armedFrom) log(`  cron ${kind}: platform ready ${ready - armedFrom} ms after the first slots`);
    // Measure from 5 s after the first slots (or after readiness), on a whole second.
    const w0 = Math.ceil((Math.max(armedFrom, ready) + 5_000) / 1000) * 1000;
    const w1 = w0 + windowS * 1000;
    base.windowStart = new Date(w0).toISOString();
    const meter = new CpuMeter({
      platform: () => [platform.proc.pid!],
      ...(kind === 'mariadb' ? { mariadbd: () => pidsByName('mariadbd', 'mysqld') } : {}),
    });
    await sleep(w0 - Date.now());
    meter.begin();
    await sleep(w1 - Date.now());
    cpu = meter.end();
    base.cpu = cpu;
    if (process.env.BENCH_TAIL) log(tail(platform, Number(process.env.BENCH_TAIL)));
    if (profileDir) {
      const file = await collectProfile(platform.proc, profileDir);
      log(file ? `  profile: ${file}\n    ${topSelf(file).join('\n    ')}` : '  profile: none written');
    }
    reader = await Database.open(t.target, { migrate: false, poolSize: 2 });
    const count = async () => {
      const r = (await reader!.manager.query(
        `SELECT COUNT(*) AS n FROM runs WHERE trigger_type = 'cron' AND logical_date >= ? AND logical_date < ?`,
        [w0, w1],
      )) as Array<{ n: number | string }>;
      return Number(r[0]!.n);
    };
    // Let the run creation of the window's last slots settle: bounded at 60 s.
    let last = -1;
    for (let k = 0; k < 60; k++) {
      const c = await count();
      if (c === last && Date.now() > w1 + 3_000) break;
      last = c;
      await sleep(1_000);
    }
    const rows = (await reader.manager.query(
      `SELECT trigger_id, tenant_id, dedupe_key, logical_date, created_at, started_at FROM runs
        WHERE trigger_type = 'cron' AND logical_date >= ? AND logical_date < ?`,
      [w0, w1],
    )) as RunRow[];
    const dups = (await reader.manager.query(
      `SELECT COUNT(*) AS n FROM (SELECT tenant_id, dedupe_key FROM runs GROUP BY tenant_id, dedupe_key HAVING COUNT(*) > 1) d`,
    )) as Array<{ n: number | string }>;
    base.dedupeDuplicates = Number(dups[0]!.n);
    // The run creation has settled: the platform's peak so far is the scenario's.
    base.rssMb = readPeakRss({ platform: () => [platform.proc.pid!] });
    // Expected: every trigger's slots in [w0, w1).
    const offsetOf = new Map<string, number>();
    for (const [off, list] of ids.entries()) for (const id of list) offsetOf.set(id, off);
    const seen = new Map<string, number>();
    const delays: number[] = [];
    const perSecond = new Map<number, { due: number; maxDelayMs: number }>();
    let stray = 0;
    for (const r of rows) {
      const ld = Number(r.logical_date);
      const off = offsetOf.get(r.trigger_id);
      if (off === undefined || ld % 1000 !== 0 || (ld / 1000) % CYCLE_S !== off) {
        // A run at a time that is not one of its trigger's slots.
        stray++;
        continue;
      }
      const k = `${r.trigger_id}@${ld}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
      // Fire delay: slot -> started (a run created ahead of its slot starts at it; else it starts when created).
      const d = Number(r.started_at ?? r.created_at) - ld;
      delays.push(d);
      const s = perSecond.get(ld) ?? { due: 0, maxDelayMs: 0 };
      s.maxDelayMs = Math.max(s.maxDelayMs, d);
      perSecond.set(ld, s);
    }
    let expected = 0;
    let missed = 0;
    for (const [off, list] of ids.entries()) {
      for (let at = firstSlot(off, w0); at < w1; at += CYCLE_S * 1000) {
        for (const id of list) {
          expected++;
          if (!seen.has(`${id}@${at}`)) missed++;
        }
        const s = perSecond.get(at) ?? { due: 0, maxDelayMs: 0 };
        s.due += list.length;
        perSecond.set(at, s);
      }
    }
    let doubled = stray;
    for (const c of seen.values()) if (c > 1) doubled += c - 1;
    let worst: CronResult['worstSecond'] = null;
    for (const [at, s] of perSecond) {
      if (!worst || s.maxDelayMs > worst.maxDelayMs) worst = { second: (at - w0) / 1000, ...s };
    }
    return {
      ...base,
      ok: missed === 0 && doubled === 0 && base.dedupeDuplicates === 0,
      error:
        missed || doubled || base.dedupeDuplicates
          ? `${missed} slots missed (no run within 60 s after the window), ${doubled} doubled, ${base.dedupeDuplicates} duplicate dedupe keys`
          : undefined,
      expected,
      fired: rows.length,
      missed,
      doubled,
      delay: summarize(delays),
      worstSecond: worst,
    };
  } catch (err) {
    const pid = p?.proc.pid;
    return {
      ...base,
      ...(pid !== undefined && !base.rssMb ? { rssMb: readPeakRss({ platform: () => [pid] }) } : {}),
      ok: false,
      error: `${err instanceof Error ? err.message : String(err)}${p ? `\nplatform log tail:\n${tail(p)}` : ''}`,
    };
  } finally {
    await reader?.close().catch(() => undefined);
    await p?.stop().catch(() => undefined);
    await t.cleanup();
  }
}
