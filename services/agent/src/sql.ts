import { createConnection, type Connection as MysqlConnection, type ResultSetHeader } from 'mysql2/promise';
import { Client as PgClient, type QueryResult } from 'pg';

export type SqlDriver = 'mysql' | 'postgres';

export const SQL_DRIVERS: readonly SqlDriver[] = ['mysql', 'postgres'];

/** Connect timeout when the task has no time limit of its own. */
export const DEFAULT_SQL_CONNECT_TIMEOUT_MS = 30_000;
/** How long the side connection that cancels a running statement may take. */
const CANCEL_TIMEOUT_MS = 2000;

export interface SqlResultSet {
  /** All rows of the result set; empty for statements without one. */
  rows: Array<Record<string, unknown>>;
  /** Rows returned by the statement. */
  rowCount: number;
  /** Rows changed by INSERT/UPDATE/DELETE (mysql: any statement without a result set); null otherwise. */
  affectedRows: number | null;
}

/** Thrown by query() when the driver's statement timeout expired. */
export class SqlTimeoutError extends Error {}

export interface SqlConnection {
  query(statement: string, params: unknown[], timeoutMs: number | null): Promise<SqlResultSet>;
  /** Best effort: asks the server, over a second short-lived connection, to stop the running statement. */
  cancelStatement(): Promise<void>;
  /** Graceful close. */
  close(): Promise<void>;
  /** Drops the connection at once; a running query rejects. */
  destroy(): void;
}

export interface SqlConnectOptions {
  /** Upper bound for connecting. */
  connectTimeoutMs: number;
}

export function isSqlDriver(driver: string): driver is SqlDriver {
  return (SQL_DRIVERS as readonly string[]).includes(driver);
}

export async function connectSql(driver: SqlDriver, url: string, options: SqlConnectOptions): Promise<SqlConnection> {
  return driver === 'mysql' ? connectMysql(url, options) : connectPostgres(url, options);
}

// ---------------------------------------------------------------- mysql

function mysqlConnect(url: string, connectTimeoutMs: number): Promise<MysqlConnection> {
  return createConnection({
    uri: url,
    connectTimeout: connectTimeoutMs,
    // BIGINT as strings, like DECIMAL and like pg's int8: no silent precision loss.
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
}

async function connectMysql(url: string, options: SqlConnectOptions): Promise<SqlConnection> {
  const conn = await mysqlConnect(url, options.connectTimeoutMs);
  // A fatal error while no query runs is emitted as an event; unhandled it would crash the agent.
  conn.on('error', () => undefined);
  return {
    async query(statement, params, timeoutMs) {
      let result: unknown;
      try {
        [result] = await conn.query({ sql: statement, values: params, timeout: timeoutMs ?? undefined });
      } catch (err) {
        if ((err as { code?: string }).code === 'PROTOCOL_SEQUENCE_TIMEOUT') throw new SqlTimeoutError('timeout');
        throw err;
      }
      if (Array.isArray(result)) {
        const rows = result as Array<Record<string, unknown>>;
        return { rows, rowCount: rows.length, affectedRows: null };
      }
      return { rows: [], rowCount: 0, affectedRows: (result as ResultSetHeader).affectedRows ?? null };
    },
    async cancelStatement() {
      const threadId = conn.threadId;
      if (threadId === null || threadId === undefined) return;
      let side: MysqlConnection | null = null;
      try {
        side = await mysqlConnect(url, CANCEL_TIMEOUT_MS);
        side.on('error', () => undefined);
        await side.query({ sql: 'KILL QUERY ?', values: [threadId], timeout: CANCEL_TIMEOUT_MS });
      } catch {
        // Best effort: the statement may have finished, or the server may refuse.
      } finally {
        side?.destroy();
      }
    },
    async close() {
      try {
        await conn.end();
      } catch {
        conn.destroy();
      }
    },
    destroy() {
      conn.destroy();
    },
  };
}

// ---------------------------------------------------------------- postgres

const PG_AFFECTING_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY']);
/** SQLSTATE query_canceled: statement_timeout or a cancel request. */
const PG_QUERY_CANCELED = '57014';

async function connectPostgres(url: string, options: SqlConnectOptions): Promise<SqlConnection> {
  let statementTimeoutSet = false;
  const client = new PgClient({ connectionString: url, connectionTimeoutMillis: options.connectTimeoutMs });
  // Errors of an idle client (the server went away) arrive as events; unhandled they would crash the agent.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    void client.end().catch(() => undefined);
    throw err;
  }
  return {
    async query(statement, params, timeoutMs) {
      try {
        if (timeoutMs !== null) {
          // The server cancels the statement itself, so a timed-out statement never keeps running.
          await client.query(`SET statement_timeout = ${Math.max(1, Math.ceil(timeoutMs))}`);
          statementTimeoutSet = true;
        }
        const res: QueryResult | QueryResult[] = await client.query({ text: statement, values: params });
        // Several statements without parameters give one result each; the last one counts.
        const all: QueryResult[] = Array.isArray(res) ? res : [res];
        const last = all[all.length - 1];
        if (!last) return { rows: [], rowCount: 0, affectedRows: null };
        const hasRows = last.fields.length > 0;
        const rows = hasRows ? (last.rows as Array<Record<string, unknown>>) : [];
        return {
          rows,
          rowCount: rows.length,
          affectedRows: PG_AFFECTING_COMMANDS.has(last.command) ? (last.rowCount ?? 0) : null,
        };
      } catch (err) {
        const e = err as { code?: string; message?: string };
        if (statementTimeoutSet && e.code === PG_QUERY_CANCELED && /statement timeout/.test(e.message ?? '')) {
          throw new SqlTimeoutError('timeout');
        }
        throw err;
      }
    },
    async cancelStatement() {
      // Not in @types/pg; set from the server's BackendKeyData.
      const pid = (client as unknown as { processID: number | null }).processID;
      if (!pid) return;
      const side = new PgClient({
        connectionString: url,
        connectionTimeoutMillis: CANCEL_TIMEOUT_MS,
        query_timeout: CANCEL_TIMEOUT_MS,
      });
      side.on('error', () => undefined);
      try {
        await side.connect();
        await side.query('SELECT pg_cancel_backend($1)', [pid]);
      } catch {
        // Best effort, as for mysql.
      } finally {
        void side.end().catch(() => undefined);
      }
    },
    async close() {
      await client.end().catch(() => undefined);
    },
    destroy() {
      // With a query running, end() drops the socket instead of waiting for it.
      void client.end().catch(() => undefined);
    },
  };
}

// ---------------------------------------------------------------- helpers

/** `host[:port]/database` of a connection URL, for logs: never the user, password or parameters. */
export function describeSqlUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '(unparsable url)';
  }
  const db = safeDecode(u.pathname.replace(/^\//, ''));
  return `${u.host || '(default host)'}/${db}`;
}

/** The URL with its password replaced by '***'. */
export function maskSqlUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable url)';
  }
}

/** Replaces the URL and its password wherever they occur in text (driver error messages may quote them). */
export function redactSqlSecrets(text: string, url: string): string {
  let out = text.split(url).join(maskSqlUrl(url));
  let password: string;
  try {
    password = new URL(url).password;
  } catch {
    return out;
  }
  for (const p of new Set([password, safeDecode(password)])) {
    if (p.length >= 3) out = out.split(p).join('***');
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Makes a driver value JSON-safe: BigInt as a decimal string, bytes as base64, dates as ISO strings. */
export function toJsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJsonSafe(v);
    return out;
  }
  return String(value as (...args: unknown[]) => unknown);
}
