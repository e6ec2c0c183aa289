// Preloaded into the platform (NODE_OPTIONS=--require) by the scenarios that report
// database statements per task. It counts the statements the platform process hands
// to its database driver — better-sqlite3 statement executions (run, get, all,
// iterate, exec) and mysql2 `query`/`execute` calls, BEGIN/COMMIT included — by
// their first keyword, and writes the running totals to BENCH_QUERY_COUNT_FILE
// every 100 ms. With BENCH_QUERY_SHAPES=1 it also counts each statement's shape
// (literals and placeholder lists folded), for a statement profile of a path.
// Nothing in the platform changes.
import { renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.env.BENCH_QUERY_COUNT_FILE;

type Fn = (this: unknown, ...args: unknown[]) => unknown;

if (file) {
  const counts: Record<string, number> = {};
  const shapes: Record<string, number> | null = process.env.BENCH_QUERY_SHAPES ? {} : null;
  const count = (sql: unknown) => {
    const raw = typeof sql === 'string' ? sql : ((sql as { sql?: unknown } | null)?.sql ?? '');
    const text = typeof raw === 'string' ? raw : '';
    const word = /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? 'OTHER';
    counts[word] = (counts[word] ?? 0) + 1;
    if (shapes) {
      const shape = text
        .replace(/'(?:[^']|'')*'/g, '?')
        .replace(/\b\d+\b/g, '?')
        .replace(/\s+/g, ' ')
        .replace(/\?(?:\s*,\s*\?)+/g, '?…')
        .replace(/\((?:\?…?\s*,?\s*)+\)(?:\s*,\s*\((?:\?…?\s*,?\s*)+\))+/g, '(…)…')
        .slice(0, 200);
      shapes[shape] = (shapes[shape] ?? 0) + 1;
    }
  };
  const load = createRequire(__filename);
  try {
    const Sqlite = load('better-sqlite3') as { prototype: Record<string, Fn> };
    const prepare = Sqlite.prototype.prepare!;
    let patched = false;
    Sqlite.prototype.prepare = function (this: unknown, ...args: unknown[]) {
      const stmt = prepare.apply(this, args) as object;
      if (!patched) {
        // Statements share one native prototype: wrap its executing methods once.
        patched = true;
        const proto = Object.getPrototypeOf(stmt) as Record<string, Fn>;
        for (const name of ['run', 'get', 'all', 'iterate']) {
          const orig = proto[name];
          if (typeof orig !== 'function') continue;
          proto[name] = function (this: unknown, ...a: unknown[]) {
            count((this as { source?: string }).source);
            return orig.apply(this, a);
          };
        }
      }
      return stmt;
    };
    const exec = Sqlite.prototype.exec!;
    Sqlite.prototype.exec = function (this: unknown, sql: unknown) {
      count(sql);
      return exec.call(this, sql);
    };
  } catch {
    // better-sqlite3 not installed: nothing to count there
  }
  try {
    const { Connection } = load('mysql2') as { Connection: { prototype: object } };
    // BaseConnection: what pool connections and plain connections share.
    const base = Object.getPrototypeOf(Connection.prototype) as Record<string, Fn>;
    for (const name of ['query', 'execute']) {
      const orig = base[name];
      if (typeof orig !== 'function') continue;
      base[name] = function (this: unknown, sql: unknown, ...rest: unknown[]) {
        count(sql);
        return orig.call(this, sql, ...rest);
      };
    }
  } catch {
    // mysql2 not installed
  }
  const tmp = `${file}.tmp`;
  const flush = () => {
    try {
      writeFileSync(tmp, JSON.stringify({ at: Date.now(), counts, ...(shapes ? { shapes } : {}) }));
      renameSync(tmp, file);
    } catch {
      // the bench removed the directory: it is done with us
    }
  };
  flush();
  setInterval(flush, 100).unref();
}
