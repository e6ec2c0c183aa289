import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import Sqlite from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { readTestEnv } from '@baton/config';

export interface TestDatabase {
  name: 'sqlite' | 'mariadb';
  /** BATON_DATABASE_URL for the platform under test; null means SQLite in its data dir. */
  url: string | null;
  /** Where `Database.open` finds it: the server's URL, or a new SQLite file in a temporary directory. */
  connection(): { kind: 'mysql'; url: string } | { kind: 'sqlite'; path: string };
  drop(): Promise<void>;
}

let mysqlReachable: Promise<boolean> | null = null;

async function canReachMysql(url: string): Promise<boolean> {
  try {
    const c = await createConnection({ uri: url, connectTimeout: 3_000 });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * The databases integration tests run on: SQLite always, MariaDB when a server
 * answers. In CI (CI=true) MariaDB is required and its absence fails the run;
 * on a laptop without it the MariaDB cases are skipped with a visible message.
 */
export async function testDatabaseKinds(): Promise<Array<'sqlite' | 'mariadb'>> {
  const env = readTestEnv();
  mysqlReachable ??= canReachMysql(env.mysqlUrl);
  if (await mysqlReachable) return ['sqlite', 'mariadb'];
  if (env.requireMysql) throw new Error(`MariaDB is required (CI=true) but ${env.mysqlUrl} does not answer`);
  process.stderr.write(
    `\n  [baton tests] SKIPPING the MariaDB integration runs: no server at ${env.mysqlUrl} (set BATON_TEST_MYSQL_URL)\n\n`,
  );
  return ['sqlite'];
}

/** A fresh, empty database of the given kind. */
export async function createTestDatabase(kind: 'sqlite' | 'mariadb'): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    return {
      name: 'sqlite',
      url: null,
      connection: () => ({ kind: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'baton-test-')), 'baton.db') }),
      drop: async () => undefined,
    };
  }
  const env = readTestEnv();
  const db = `baton_test_${randomBytes(4).toString('hex')}`;
  const c = await createConnection({ uri: env.mysqlUrl });
  await c.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await c.end();
  const url = `${env.mysqlUrl.replace(/\/+$/, '')}/${db}`;
  return {
    name: 'mariadb',
    url,
    connection: () => ({ kind: 'mysql', url }),
    drop: async () => {
      if (env.keepData) return;
      const d = await createConnection({ uri: env.mysqlUrl });
      await d.query(`DROP DATABASE IF EXISTS \`${db}\``);
      await d.end();
    },
  };
}

/** The Kafka brokers integration tests use, or null (skipped visibly; required in CI). */
export async function testKafkaBrokers(): Promise<string[] | null> {
  const env = readTestEnv();
  const brokers = env.kafkaBrokers;
  const [host, port] = brokers[0]!.split(':');
  const ok = await new Promise<boolean>((resolve) => {
    const s = connect({ host, port: Number(port) }, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(2_000, () => {
      s.destroy();
      resolve(false);
    });
  });
  if (ok) return brokers;
  if (env.requireMysql) throw new Error(`Kafka is required (CI=true) but ${brokers.join(',')} does not answer`);
  process.stderr.write(`\n  [baton tests] SKIPPING the Kafka topology runs: no broker at ${brokers.join(',')}\n\n`);
  return null;
}

/**
 * The rows of one read-only statement on the database a platform under test uses, behind its API: `db` for
 * MariaDB, else the SQLite file in the platform's `dataDir`.
 */
export async function queryPlatformDatabase<T>(db: TestDatabase, dataDir: string, sql: string): Promise<T[]> {
  if (db.url) {
    const c = await createConnection({ uri: db.url });
    try {
      return (await c.query(sql))[0] as T[];
    } finally {
      await c.end();
    }
  }
  const s = new Sqlite(join(dataDir, 'baton.db'), { readonly: true });
  try {
    return s.prepare(sql).all() as T[];
  } finally {
    s.close();
  }
}
