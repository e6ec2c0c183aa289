import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './stats.js';

/** Statements the platform sent to its database driver, by first keyword (SELECT, INSERT, COMMIT, ...). */
export type StatementCounts = Record<string, number>;

interface Snapshot {
  at: number;
  counts: StatementCounts;
  /** With BENCH_QUERY_SHAPES=1 in the platform's environment: counts by statement shape. */
  shapes?: Record<string, number>;
}

/**
 * Reads what dist/query-count-preload.js writes from inside the platform's
 * processes (one, or each service of a topology): their running statement
 * totals, refreshed every 100 ms, summed.
 */
export class QueryCounter {
  readonly dir = mkdtempSync(join(tmpdir(), 'baton-bench-queries-'));
  private start: Snapshot | null = null;

  /** The environment of a platform process (`name` tells processes apart) that loads the preload. */
  env(name = 'platform'): Record<string, string> {
    // BENCH_QUERY_SHAPES=1 in the bench's environment passes on: the platform then counts statement shapes too.
    return {
      NODE_OPTIONS: `--require ${join(__dirname, 'query-count-preload.js')}`,
      BENCH_QUERY_COUNT_FILE: join(this.dir, `counts-${name.replace(/[^\w-]/g, '_')}.json`),
      ...(process.env.BENCH_QUERY_SHAPES ? { BENCH_QUERY_SHAPES: '1' } : {}),
    };
  }

  /** Every process's totals summed; `at` is the oldest of their writes. */
  private read(): Snapshot | null {
    const parts: Snapshot[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.startsWith('counts-') || !f.endsWith('.json')) continue;
      try {
        parts.push(JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as Snapshot);
      } catch {
        // Being renamed into place: read again at the next try.
        return null;
      }
    }
    if (parts.length === 0) return null;
    const sum = (maps: Array<Record<string, number> | undefined>) => {
      const out: Record<string, number> = {};
      for (const m of maps) for (const [k, v] of Object.entries(m ?? {})) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    const shapes = parts.some((x) => x.shapes) ? sum(parts.map((x) => x.shapes)) : undefined;
    return { at: Math.min(...parts.map((x) => x.at)), counts: sum(parts.map((x) => x.counts)), shapes };
  }

  /** The first totals written at or after now (waits up to 1 s for the next write). */
  async snapshot(): Promise<Snapshot | null> {
    const want = Date.now();
    for (let i = 0; i < 50; i++) {
      const s = this.read();
      if (s && s.at >= want) return s;
      await sleep(20);
    }
    return null;
  }

  async begin(): Promise<void> {
    this.start = await this.snapshot();
  }

  /** Statements since begin(), by keyword, with `total`; null when the preload did not report. */
  async end(): Promise<StatementCounts | null> {
    const s = await this.snapshot();
    if (!s || !this.start) return null;
    const out: StatementCounts = {};
    let total = 0;
    for (const [k, v] of Object.entries(s.counts)) {
      const d = v - (this.start.counts[k] ?? 0);
      if (d > 0) {
        out[k] = d;
        total += d;
      }
    }
    out.total = total;
    this.lastShapes = s.shapes
      ? Object.entries(s.shapes)
          .map(([shape, n]) => [shape, n - (this.start!.shapes?.[shape] ?? 0)] as [string, number])
          .filter(([, n]) => n > 0)
          .sort((a, b) => b[1] - a[1])
      : null;
    return out;
  }

  /** The statement shapes counted between begin() and end(), most frequent first (BENCH_QUERY_SHAPES=1). */
  lastShapes: Array<[string, number]> | null = null;

  /** Logs the shapes of the last begin()..end() per unit (a finished task), the most frequent first. */
  logShapes(log: (line: string) => void, label: string, units: number, top = 40): void {
    const shapes = this.lastShapes;
    if (!shapes) return;
    const per = Math.max(1, units);
    const total = shapes.reduce((n, [, c]) => n + c, 0);
    log(`  statement shapes per task (${label}), of ${(total / per).toFixed(1)}:`);
    for (const [shape, n] of shapes.slice(0, top)) log(`    ${(n / per).toFixed(2).padStart(6)}  ${shape}`);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** "12.3 (SELECT 5.1, UPDATE 3.0, ...)": statements per unit, the largest kinds first. */
export function perUnit(counts: StatementCounts | null | undefined, units: number, top = 5): string {
  if (!counts || !counts.total || units <= 0) return 'n/a';
  const kinds = Object.entries(counts)
    .filter(([k]) => k !== 'total')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${k} ${(v / units).toFixed(1)}`);
  return `${(counts.total / units).toFixed(1)} (${kinds.join(', ')})`;
}
