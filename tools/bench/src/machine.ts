import { readFileSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createConnection } from 'mysql2/promise';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  sqlite: string;
  mariadb: string;
  postgres: string;
  redis: string;
  kernel: string;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

async function safe(what: () => Promise<string>): Promise<string> {
  try {
    return await what();
  } catch (err) {
    return `unavailable (${err instanceof Error ? err.message : String(err)})`;
  }
}

export async function describeMachine(mysqlUrl: string): Promise<Machine> {
  const sqlite = await safe(async () => {
    const { default: Sqlite } = await import('better-sqlite3');
    const db = new Sqlite(':memory:');
    const v = (db.prepare('select sqlite_version() v').get() as { v: string }).v;
    db.close();
    return v;
  });
  const mariadb = await safe(async () => {
    const c = await createConnection({ uri: mysqlUrl, connectTimeout: 3_000 });
    const [rows] = await c.query('SELECT VERSION() v');
    await c.end();
    return (rows as Array<{ v: string }>)[0]!.v;
  });
  const postgres = await safe(async () => {
    const { Client } = await import('pg');
    const c = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await c.connect();
    const r = await c.query<{ server_version: string }>('SHOW server_version');
    await c.end();
    return r.rows[0]!.server_version;
  });
  const redis = await safe(async () => {
    const { Redis } = await import('ioredis');
    const r = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
    await r.connect();
    const info = await r.info('server');
    r.disconnect();
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  });
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux
  }
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    sqlite,
    mariadb,
    postgres,
    redis,
    kernel,
  };
}

const TICK = 100; // USER_HZ on Linux

/** CPU seconds (user + system) used so far by a process, or null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return null;
  }
}

/** Pids whose command name is one of `names` (e.g. mariadbd, postgres, redis-server). */
export function pidsByName(...names: string[]): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${e}/comm`, 'utf8').trim())) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Pids whose command name is `name` and whose command line contains `arg` (e.g. java, kafka.Kafka). */
export function pidsByCommandLine(name: string, arg: string): number[] {
  return pidsByName(name).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(arg);
    } catch {
      return false;
    }
  });
}

/**
 * Measures how busy some processes were over an interval, in cores
 * (1.0 = one core fully busy): what `top` would show, averaged.
 */
export class CpuMeter {
  private readonly start = new Map<string, number>();
  private t0 = 0;

  constructor(private readonly groups: Record<string, () => number[]>) {}

  begin(): void {
    this.t0 = performance.now();
    for (const [name, pids] of Object.entries(this.groups)) this.start.set(name, this.total(pids()));
  }

  end(): Record<string, number> {
    const secs = (performance.now() - this.t0) / 1000;
    const out: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.groups)) {
      out[name] = secs > 0 ? (this.total(pids()) - (this.start.get(name) ?? 0)) / secs : 0;
    }
    return out;
  }

  private total(pids: number[]): number {
    return pids.reduce((n, p) => n + (cpuSeconds(p) ?? 0), 0);
  }
}

export function formatCpu(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
}

/** Busy and total jiffies of the whole machine, from the first line of /proc/stat; null when not Linux. */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = f[3]! + f[4]!;
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/**
 * How busy the whole machine was over an interval, in cores (all processes,
 * the database servers and anything else running), from /proc/stat.
 */
export class MachineCpuMeter {
  private t0: { busy: number; total: number } | null = null;
  private w0 = 0;

  begin(): void {
    this.t0 = machineTicks();
    this.w0 = performance.now();
  }

  /** Average cores busy since begin(); NaN when /proc/stat is unreadable. */
  end(): number {
    const t1 = machineTicks();
    const secs = (performance.now() - this.w0) / 1000;
    if (!this.t0 || !t1 || secs <= 0) return NaN;
    return (t1.busy - this.t0.busy) / TICK / secs;
  }
}

/** A process's peak resident set size so far (VmHWM), in MiB; null when it is gone or not Linux. */
export function peakRssMb(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Peak RSS per process group, in MiB (read before the processes stop: the
 * kernel keeps VmHWM, the high-water mark, for each process's lifetime). A
 * group of several processes reports the sum of their peaks.
 */
export function readPeakRss(groups: Record<string, () => number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) {
    const peaks = pids()
      .map(peakRssMb)
      .filter((v): v is number => v !== null);
    if (peaks.length > 0) out[name] = peaks.reduce((a, b) => a + b, 0);
  }
  return out;
}

export function formatRss(rss: Record<string, number> | undefined): string {
  if (!rss || Object.keys(rss).length === 0) return 'n/a';
  return Object.entries(rss)
    .map(([k, v]) => `${k} ${Math.round(v).toLocaleString('en-US')}`)
    .join(', ');
}
