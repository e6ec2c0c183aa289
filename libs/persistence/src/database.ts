import { AsyncLocalStorage } from 'node:async_hooks';
import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditCheckpointEntity, AuditEventEntity, AuditHeadEntity } from './entities/audit.js';
import {
  InvitationEntity,
  MembershipEntity,
  OidcLoginEntity,
  PasswordResetEntity,
  SessionEntity,
  UserEntity,
  UserIdentityEntity,
} from './entities/identity.js';
import { TenantQuotaEntity, TenantUsageDailyEntity } from './entities/quota.js';
import { RunSlaEntity } from './entities/sla.js';
import { AlertChannelEntity, AlertDeliveryEntity, AlertRuleEntity } from './entities/alert.js';
import { describeTenantIndexes } from './sqlite-planner.js';
import { SecretEntity } from './entities/secret.js';
import { ENTITIES as CORE_ENTITIES } from './entities/index.js';
import { MIGRATIONS } from './migrations/index.js';
import { SnakeNamingStrategy } from './naming.js';

export type Dialect = 'sqlite' | 'mysql';

/** What the first transaction of a call writes beside its own change (`withFirstTransaction`). */
export interface FirstTransactionWrite {
  write: (m: EntityManager) => Promise<void>;
  /** A transaction of the call has taken the write (it is given back if that transaction fails). */
  taken: boolean;
  /** The transaction that carried it committed. */
  committed: boolean;
  /** No later transaction takes it (the call has answered). */
  closed?: boolean;
}

const firstTransaction = new AsyncLocalStorage<FirstTransactionWrite>();

/** The Database whose transaction each transactional manager belongs to. */
const owners = new WeakMap<EntityManager, Database>();

/**
 * `notifyAfterCommit` for code that holds only the transaction's manager (the
 * outbox writer): false when `m` is not one of a Database's transactions.
 */
export function notifyAfterCommitOf(m: EntityManager, topic: string): boolean {
  const db = owners.get(m);
  if (!db) return false;
  db.notifyAfterCommit(m, topic);
  return true;
}

/**
 * Runs `fn`; the first transaction it opens (in any `Database` of the process)
 * also runs `write` before it commits, so that, for example, the audit record
 * of an API call commits with the call's change or not at all. `committed`
 * says afterwards whether it did.
 */
export function withFirstTransaction<T>(write: FirstTransactionWrite, fn: () => T): T {
  return firstTransaction.run(write, fn);
}

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'mysql'; url: string };

const ENTITIES = [
  ...CORE_ENTITIES,
  AuditEventEntity,
  AuditHeadEntity,
  AuditCheckpointEntity,
  TenantQuotaEntity,
  TenantUsageDailyEntity,
  UserEntity,
  MembershipEntity,
  SessionEntity,
  InvitationEntity,
  PasswordResetEntity,
  UserIdentityEntity,
  OidcLoginEntity,
  RunSlaEntity,
  SecretEntity,
  AlertChannelEntity,
  AlertRuleEntity,
  AlertDeliveryEntity,
];

const RETRYABLE_MYSQL = new Set([1213 /* deadlock */, 1205 /* lock wait timeout */]);

/**
 * The shared database handle. SQLite runs in one process on one connection,
 * so transactions are serialised here; MySQL/MariaDB transactions run in
 * parallel at READ COMMITTED (no gap locks on the SKIP LOCKED claims) and are
 * retried on deadlock.
 */
export class Database {
  /** SQLite's transactions, one at a time, in order (an urgent one goes next). */
  private readonly sqliteQueue: Array<() => Promise<void>> = [];
  private sqliteBusy = false;
  /** Work to do once a transaction commits, by its manager; dropped when it rolls back. */
  private readonly commitHooks = new WeakMap<EntityManager, Array<() => void>>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly notifiers = new Map<string, () => void>();
  /** Pooled MySQL connections whose session is at READ COMMITTED already. */
  private readonly readCommitted = new WeakSet<object>();

  private constructor(
    readonly dataSource: DataSource,
    readonly dialect: Dialect,
  ) {}

  static async open(target: DatabaseTarget, opts: { migrate?: boolean; poolSize?: number } = {}): Promise<Database> {
    let ds: DataSource;
    if (target.kind === 'sqlite') {
      mkdirSync(dirname(target.path), { recursive: true });
      ds = new DataSource({
        type: 'better-sqlite3',
        database: target.path,
        entities: ENTITIES,
        migrations: MIGRATIONS,
        namingStrategy: new SnakeNamingStrategy(),
        synchronize: false,
        prepareDatabase: (db: { pragma(s: string): unknown }) => {
          db.pragma('journal_mode = WAL');
          db.pragma('synchronous = NORMAL');
          db.pragma('busy_timeout = 5000');
          db.pragma('foreign_keys = ON');
        },
      });
    } else {
      ds = new DataSource({
        type: 'mysql',
        url: target.url.replace(/^mariadb:/, 'mysql:'),
        entities: ENTITIES,
        migrations: MIGRATIONS,
        namingStrategy: new SnakeNamingStrategy(),
        synchronize: false,
        timezone: 'Z',
        charset: 'utf8mb4',
        supportBigNumbers: true,
        bigNumberStrings: false,
        poolSize: opts.poolSize ?? 10,
      });
    }
    await ds.initialize();
    const db = new Database(ds, target.kind);
    if (opts.migrate !== false) await db.migrate();
    return db;
  }

  async migrate(): Promise<string[]> {
    // Several replicas may start at once; MySQL serialises them on a named lock.
    if (this.dialect === 'mysql') {
      const runner = this.dataSource.createQueryRunner();
      await runner.connect();
      try {
        await runner.query(`SELECT GET_LOCK('baton_migrations', 60)`);
        const done = await this.dataSource.runMigrations({ transaction: 'each' });
        return done.map((m) => m.name);
      } finally {
        await runner.query(`SELECT RELEASE_LOCK('baton_migrations')`).catch(() => undefined);
        await runner.release();
      }
    }
    const done = await this.dataSource.runMigrations({ transaction: 'each' });
    await describeTenantIndexes(this.dataSource);
    return done.map((m) => m.name);
  }

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  /** Runs `fn` after the transaction of `m` commits (at once when `m` is not in one); each `fn` once. */
  afterCommit(m: EntityManager, fn: () => void): void {
    const hooks = this.commitHooks.get(m);
    if (!hooks) queueMicrotask(fn);
    else if (!hooks.includes(fn)) hooks.push(fn);
  }

  /**
   * In-process wake-ups: once the transaction of `m` commits, every listener
   * of `topic` in this process is called (once per transaction). Listeners in
   * other processes learn of the change through the bus; this only saves the
   * hop through the outbox relay when writer and reader share a process.
   */
  notifyAfterCommit(m: EntityManager, topic: string): void {
    let notify = this.notifiers.get(topic);
    if (!notify) {
      notify = () => {
        for (const fn of this.listeners.get(topic) ?? []) fn();
      };
      this.notifiers.set(topic, notify);
    }
    this.afterCommit(m, notify);
  }

  /** Listens to `notifyAfterCommit(…, topic)` in this process; returns the way to stop. */
  listen(topic: string, fn: () => void): () => void {
    const set = this.listeners.get(topic) ?? new Set<() => void>();
    set.add(fn);
    this.listeners.set(topic, set);
    return () => set.delete(fn);
  }

  /**
   * `urgent`: on SQLite (one writer, transactions queued here) this one runs
   * right after the transaction in progress instead of behind the queue; for
   * work due at an instant (scheduled runs starting at their slot).
   */
  async tx<T>(fn: (m: EntityManager) => Promise<T>, opts: { urgent?: boolean } = {}): Promise<T> {
    let hooks: Array<() => void> = [];
    // The first transaction of a call run under `withFirstTransaction` also writes what it was given.
    const pending = firstTransaction.getStore();
    const carry = pending && !pending.taken && !pending.closed ? pending : null;
    if (carry) carry.taken = true;
    const body = async (m: EntityManager) => {
      hooks = [];
      this.commitHooks.set(m, hooks);
      owners.set(m, this);
      const value = await fn(m);
      if (carry) await carry.write(m);
      return value;
    };
    const committed = (value: T) => {
      if (carry) carry.committed = true;
      for (const h of hooks) {
        try {
          h();
        } catch {
          // A wake-up that throws must not turn a committed transaction into a failed one.
        }
      }
      return value;
    };
    // A transaction that did not commit leaves the write to the call's next one.
    const failed = (err: unknown): never => {
      if (carry) carry.taken = false;
      throw err;
    };
    if (this.dialect === 'sqlite') {
      return new Promise<T>((resolve, reject) => {
        const job = () => this.dataSource.transaction(body).then(committed, failed).then(resolve, reject);
        if (opts.urgent) this.sqliteQueue.unshift(job);
        else this.sqliteQueue.push(job);
        void this.drainSqlite();
      });
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return committed(await this.mysqlTransaction(body));
      } catch (err) {
        const errno =
          (err as { errno?: number; driverError?: { errno?: number } }).driverError?.errno ??
          (err as { errno?: number }).errno;
        if (attempt < 5 && errno !== undefined && RETRYABLE_MYSQL.has(errno)) {
          await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
          continue;
        }
        return failed(err);
      }
    }
  }

  private async drainSqlite(): Promise<void> {
    if (this.sqliteBusy) return;
    this.sqliteBusy = true;
    try {
      while (this.sqliteQueue.length > 0) await this.sqliteQueue.shift()!();
    } finally {
      this.sqliteBusy = false;
    }
  }

  /**
   * A transaction at READ COMMITTED. The level is set once per pooled
   * connection (`SET SESSION`), not before every transaction: one round trip
   * less on every transaction of the hot paths.
   */
  private async mysqlTransaction<T>(body: (m: EntityManager) => Promise<T>): Promise<T> {
    const qr = this.dataSource.createQueryRunner();
    try {
      const conn = (await qr.connect()) as object;
      if (!this.readCommitted.has(conn)) {
        await qr.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
        this.readCommitted.add(conn);
      }
      await qr.startTransaction();
      try {
        const value = await body(qr.manager);
        await qr.commitTransaction();
        return value;
      } catch (err) {
        await qr.rollbackTransaction().catch(() => undefined);
        throw err;
      }
    } finally {
      await qr.release();
    }
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; driverError?: { code?: string; errno?: number }; message?: string };
  const code = e.driverError?.code ?? e.code;
  const errno = e.driverError?.errno ?? e.errno;
  return (
    code === 'ER_DUP_ENTRY' ||
    errno === 1062 ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    /UNIQUE constraint failed/.test(e.message ?? '')
  );
}

/** Rows changed by an UPDATE, on either driver: the compare-and-set check. */
export function affected(result: { affected?: number | null }): number {
  return result.affected ?? 0;
}
