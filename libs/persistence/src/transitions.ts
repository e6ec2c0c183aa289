import { type EntityManager, type ObjectLiteral } from 'typeorm';
import {
  type AttemptState,
  IllegalTransitionError,
  type RunState,
  type TaskState,
  canAttemptTransition,
  canRunTransition,
  canTransition,
} from '@baton/domain';
import type { Database } from './database.js';
import { AttemptEntity, RunEntity, TaskRunEntity } from './entities/index.js';
import type { TenantScope } from './scope.js';

/** Fields a move may set beside the state (a value, or an SQL expression); the state itself is the move's `to`. */
type Patch<E> = { [K in keyof Omit<E, 'state' | 'id' | 'tenantId'>]?: E[K] | (() => string) };

/** Which task runs of one tenant a move is about. */
export type TaskSelection =
  | { ids: readonly string[]; currentAttemptId?: string | readonly string[] }
  | { runId: string; keys: readonly string[] };

/** Which attempts of one tenant a move is about. */
export interface AttemptSelection {
  ids: readonly string[];
  /** Only the attempts of this agent (an agent speaks for its own attempts only). */
  agentId?: string;
}

/** One task taken by the dispatcher: queued -> assigned with its new attempt (a compensation keeps its state). */
export interface Assignment {
  tenantId: string;
  taskRunId: string;
  attemptId: string;
  compensation: boolean;
}

const CHUNK = 500;

/** Rows of many tenants, each named by `column` (`id` or `run_id`) with its tenant. */
interface Across {
  across: { column: 'id' | 'run_id'; rows: ReadonlyArray<{ id: string; tenantId: string }> };
}

/**
 * Each state moved from must reach `to` by the domain's table: directly, or
 * through `via` when the store writes two steps as one (a failure that is
 * retried is `running -> failed -> up_for_retry`; a result whose ACK was lost
 * is `assigned -> running -> succeeded`), so nobody observes the step between.
 */
function check<S extends string>(
  kind: 'task' | 'run' | 'attempt',
  can: (from: S, to: S) => boolean,
  from: readonly S[],
  to: S,
  via?: S,
): void {
  if (from.length === 0) throw new Error(`a ${kind} move needs at least one state to move from`);
  for (const f of from) {
    if (can(f, to) || (via !== undefined && can(f, via) && can(via, to))) continue;
    throw new IllegalTransitionError(f, to, kind);
  }
}

/** A patch may not carry a state: states change only by a move. */
function stateless(patch: object): void {
  if ('state' in patch) throw new Error('a patch cannot set a state; use a move');
}

/**
 * The one place that writes the state of runs, task runs and attempts. A move
 * names the states it moves from and the state it moves to: the domain's
 * transition table must allow each, the write is a compare-and-set on the
 * current state (and always on the tenant), and the number of rows that moved
 * is returned, so a late or duplicated message moves nothing. Once the
 * transaction commits, the outbox relay is woken for the events written with
 * the move. Nothing else writes a state column (tools/state-writes.spec.ts).
 */
export class TransitionStore {
  constructor(
    private readonly db: Database,
    private readonly wake: () => void = () => undefined,
  ) {}

  async tasks(
    m: EntityManager,
    scope: TenantScope,
    sel: TaskSelection,
    from: readonly TaskState[],
    to: TaskState,
    patch: Patch<TaskRunEntity> = {},
    via?: TaskState,
  ): Promise<number> {
    check('task', canTransition, from, to, via);
    return this.done(m, await this.writeTasks(m, scope, sel, from, { ...patch, state: to }));
  }

  /** Columns other than the state of tasks in one of `states` (a compensation losing its expired attempt). */
  async touchTasks(
    m: EntityManager,
    scope: TenantScope,
    sel: TaskSelection,
    states: readonly TaskState[],
    patch: Patch<TaskRunEntity>,
  ): Promise<number> {
    stateless(patch);
    return this.writeTasks(m, scope, sel, states, patch);
  }

  private async writeTasks(
    m: EntityManager,
    scope: TenantScope,
    sel: TaskSelection,
    from: readonly TaskState[],
    values: ObjectLiteral,
  ): Promise<number> {
    let moved = 0;
    if ('runId' in sel) {
      for (let i = 0; i < sel.keys.length; i += CHUNK) {
        moved += await this.write(m, TaskRunEntity, values, scope, [
          ['run_id', [sel.runId]],
          ['task_key', sel.keys.slice(i, i + CHUNK)],
          ['state', from],
        ]);
      }
      return moved;
    }
    const current = sel.currentAttemptId;
    for (let i = 0; i < sel.ids.length; i += CHUNK) {
      moved += await this.write(m, TaskRunEntity, values, scope, [
        ['id', sel.ids.slice(i, i + CHUNK)],
        ['state', from],
        ...(current === undefined
          ? []
          : ([['current_attempt_id', typeof current === 'string' ? [current] : current]] as const)),
      ]);
    }
    return moved;
  }

  async attempts(
    m: EntityManager,
    scope: TenantScope,
    sel: AttemptSelection,
    from: readonly AttemptState[],
    to: AttemptState,
    patch: Patch<AttemptEntity> = {},
    via?: AttemptState,
  ): Promise<number> {
    check('attempt', canAttemptTransition, from, to, via);
    return this.done(m, await this.writeAttempts(m, scope, sel, from, { ...patch, state: to }));
  }

  /** Columns other than the state of attempts in one of `states` (leases, the session, a late result). */
  async touchAttempts(
    m: EntityManager,
    scope: TenantScope,
    sel: AttemptSelection,
    states: readonly AttemptState[],
    patch: Patch<AttemptEntity>,
  ): Promise<number> {
    stateless(patch);
    return this.writeAttempts(m, scope, sel, states, patch);
  }

  private async writeAttempts(
    m: EntityManager,
    scope: TenantScope,
    sel: AttemptSelection,
    from: readonly AttemptState[],
    values: ObjectLiteral,
  ): Promise<number> {
    let moved = 0;
    for (let i = 0; i < sel.ids.length; i += CHUNK) {
      moved += await this.write(m, AttemptEntity, values, scope, [
        ['id', sel.ids.slice(i, i + CHUNK)],
        ['state', from],
        ...(sel.agentId === undefined ? [] : ([['agent_id', [sel.agentId]]] as const)),
      ]);
    }
    return moved;
  }

  async runs(
    m: EntityManager,
    scope: TenantScope,
    ids: readonly string[],
    from: readonly RunState[],
    to: RunState,
    patch: Patch<RunEntity> = {},
  ): Promise<number> {
    check('run', canRunTransition, from, to);
    let moved = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      moved += await this.write(m, RunEntity, { ...patch, state: to }, scope, [
        ['id', ids.slice(i, i + CHUNK)],
        ['state', from],
      ]);
    }
    return this.done(m, moved);
  }

  /**
   * Runs of many tenants at once, each named with its tenant (the scheduled
   * runs of one slot, started together).
   */
  async runsAcross(
    m: EntityManager,
    rows: ReadonlyArray<{ id: string; tenantId: string }>,
    from: readonly RunState[],
    to: RunState,
    patch: Patch<RunEntity> = {},
  ): Promise<number> {
    check('run', canRunTransition, from, to);
    return this.done(m, await this.writeAcross(m, RunEntity, { ...patch, state: to }, 'id', rows, [['state', from]]));
  }

  /** The tasks of these keys in runs of many tenants, each run named with its tenant. */
  async tasksAcross(
    m: EntityManager,
    runs: ReadonlyArray<{ id: string; tenantId: string }>,
    keys: readonly string[],
    from: readonly TaskState[],
    to: TaskState,
    patch: Patch<TaskRunEntity> = {},
  ): Promise<number> {
    check('task', canTransition, from, to);
    const where = [['task_key', keys] as const, ['state', from] as const];
    return this.done(m, await this.writeAcross(m, TaskRunEntity, { ...patch, state: to }, 'run_id', runs, where));
  }

  /** `write` over rows of many tenants, CHUNK of them a statement, each named by `column` with its tenant. */
  private async writeAcross<E extends ObjectLiteral>(
    m: EntityManager,
    entity: new () => E,
    values: ObjectLiteral,
    column: Across['across']['column'],
    rows: ReadonlyArray<{ id: string; tenantId: string }>,
    where: ReadonlyArray<readonly [string, readonly unknown[]]>,
  ): Promise<number> {
    let moved = 0;
    for (let i = 0; i < rows.length; i += CHUNK) {
      moved += await this.write(m, entity, values, { across: { column, rows: rows.slice(i, i + CHUNK) } }, where);
    }
    return moved;
  }

  /**
   * Moves a run's task epoch: said by whoever settled or decided tasks of a
   * large run, so a scheduler that remembers the run's task states knows they
   * are old (checked under the run's lock). Not a state: nothing to check.
   */
  async touchTaskEpoch(m: EntityManager, scope: TenantScope, runId: string): Promise<void> {
    await this.write(m, RunEntity, { taskEpoch: () => 'task_epoch + 1' }, scope, [['id', [runId]]]);
  }

  /**
   * The dispatcher's batch in one statement: each queued task becomes
   * assigned to its own new attempt; a compensation keeps its state and only
   * gets the attempt. Returns how many rows took their attempt.
   */
  async assign(m: EntityManager, moves: readonly Assignment[], now: number): Promise<number> {
    check('task', canTransition, ['queued'], 'assigned');
    let moved = 0;
    for (let i = 0; i < moves.length; i += CHUNK) {
      const part = moves.slice(i, i + CHUNK);
      const cases = part.map(() => 'WHEN ? THEN ?').join(' ');
      // The primary key finds the rows; each must also be of the tenant it is named with.
      moved += await affectedBy(
        m,
        `UPDATE task_runs SET state = CASE WHEN state = 'compensating' THEN state ELSE 'assigned' END, ` +
          `current_attempt_id = CASE id ${cases} END, updated_at = ? ` +
          `WHERE id IN (${part.map(() => '?').join(', ')}) ` +
          `AND (id, tenant_id) IN (${part.map(() => '(?, ?)').join(', ')}) ` +
          `AND (state = 'queued' OR (state = 'compensating' AND current_attempt_id IS NULL))`,
        [
          ...part.flatMap((x) => [x.taskRunId, x.attemptId]),
          now,
          ...part.map((x) => x.taskRunId),
          ...part.flatMap((x) => [x.taskRunId, x.tenantId]),
        ],
      );
    }
    return this.done(m, moved);
  }

  /**
   * One UPDATE of the tenant's rows matching every condition (a column in a
   * list of values), as plain SQL: this is the hot path of every ACK, result
   * and readiness decision, and the query builder's parameter handling cost
   * more than the statement. Values are prepared as the driver would (transformers, types);
   * a function is an SQL expression of the columns (`attempts_used + 1`).
   */
  private async write<E extends ObjectLiteral>(
    m: EntityManager,
    entity: new () => E,
    values: ObjectLiteral,
    scope: TenantScope | Across,
    where: ReadonlyArray<readonly [string, readonly unknown[]]>,
  ): Promise<number> {
    const meta = m.connection.getMetadata(entity);
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const [property, value] of Object.entries(values)) {
      if (value === undefined) continue;
      const column = meta.findColumnWithPropertyName(property);
      if (!column) throw new Error(`${meta.tableName} has no column for ${property}`);
      if (typeof value === 'function') {
        sets.push(`${column.databaseName} = ${(value as () => string)()}`);
        continue;
      }
      sets.push(`${column.databaseName} = ?`);
      params.push(m.connection.driver.preparePersistentValue(value, column));
    }
    if (sets.length === 0) throw new Error(`an update of ${meta.tableName} needs at least one column to set`);
    const conditions: string[] = [];
    if ('across' in scope) {
      const { column, rows } = scope.across;
      if (rows.length === 0) return 0;
      // The column's own index finds the rows; each must also be of the tenant it is named with.
      conditions.push(`${column} IN (${rows.map(() => '?').join(', ')})`);
      params.push(...rows.map((r) => r.id));
      conditions.push(`(${column}, tenant_id) IN (${rows.map(() => '(?, ?)').join(', ')})`);
      params.push(...rows.flatMap((r) => [r.id, r.tenantId]));
    } else {
      conditions.push('tenant_id = ?');
      params.push(scope.tenantId);
    }
    for (const [column, list] of where) {
      if (list.length === 0) return 0;
      conditions.push(list.length === 1 ? `${column} = ?` : `${column} IN (${list.map(() => '?').join(', ')})`);
      params.push(...list);
    }
    return affectedBy(m, `UPDATE ${meta.tableName} SET ${sets.join(', ')} WHERE ${conditions.join(' AND ')}`, params);
  }

  private done(m: EntityManager, moved: number): number {
    if (moved > 0) this.db.afterCommit(m, this.wake);
    return moved;
  }
}

/** Rows changed by a raw statement, on either driver (TypeORM's structured result carries the count). */
async function affectedBy(m: EntityManager, sql: string, params: unknown[]): Promise<number> {
  const runner = m.queryRunner ?? m.connection.createQueryRunner();
  try {
    const res = await runner.query(sql, params, true);
    return (res as { affected?: number }).affected ?? 0;
  } finally {
    if (!m.queryRunner) await runner.release();
  }
}
