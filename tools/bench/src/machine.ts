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
