import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EntityManager, In } from 'typeorm';
import { type TaskState, parseJobDefinition } from '@baton/domain';
import {
  AttemptEntity,
  Database,
  JobEntity,
  JobVersionEntity,
  RunEntity,
  TaskRunEntity,
  TransitionStore,
  newId,
} from '@baton/persistence';
import { loadConfig } from '@baton/config';
import { createLogger } from '@baton/telemetry';
import { Compensation } from '../src/engine/compensation.js';
import { Completion } from '../src/engine/completion.js';
import { DefinitionCache } from '../src/engine/definitions.js';
import type { FinishInput } from '../src/engine/effects.js';
import { EngineResources } from '../src/engine/engine-resources.js';
import { OperatorActions } from '../src/engine/operator-actions.js';
import { ReadinessGate } from '../src/engine/readiness-gate.js';
import { RunCreation } from '../src/engine/run-creation.js';
import { PeerWakeups } from '../src/engine/peer-wakeups.js';
import { RunFinishHooks } from '../src/engine/run-finish-hooks.js';
import { TaskRenderer } from '../src/engine/task-renderer.js';

/**
 * The engine's systems wired by hand on a fresh SQLite database, for unit
 * tests of each lifecycle concern (no Nest, no agents: attempts are made and
 * finished directly, as the dispatcher and the command queue would).
 */
export async function engineFixture() {
  const dir = mkdtempSync(join(tmpdir(), 'baton-engine-'));
  const db = await Database.open({ kind: 'sqlite', path: join(dir, 'baton.db') });
  const config = loadConfig({ BATON_DATA_DIR: dir }, dir);
  const logger = createLogger({ level: 'error', format: 'text', write: () => undefined });
  const r = new EngineResources(
    db,
    new TransitionStore(db),
    new DefinitionCache(),
    new ReadinessGate(new TaskRenderer(config)),
    config,
    logger,
  );
  const compensation = new Compensation(r);
  const hooks = new RunFinishHooks();
  // Without Kafka there are no peers to wake: the bus is never called.
  const peers = new PeerWakeups({} as never, config);
  const completion = new Completion(r, compensation, hooks, peers);
  const creation = new RunCreation(r, completion);
  const operator = new OperatorActions(r, completion);
  const scope = { tenantId: newId() };

  /** Stores a job (a new version each call) and makes it current. */
  const job = async (definition: Record<string, unknown>) => {
    const parsed = parseJobDefinition(definition);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const now = Date.now();
    return db.tx(async (m) => {
      const existing = await m.findOne(JobEntity, { where: { tenantId: scope.tenantId, name: parsed.value.name } });
      const jobRow: JobEntity = existing ?? {
        id: newId(now),
        tenantId: scope.tenantId,
        name: parsed.value.name,
        currentVersion: 0,
        createdAt: now,
        updatedAt: now,
      };
      jobRow.currentVersion += 1;
      jobRow.updatedAt = now;
      await m.save(JobEntity, jobRow);
      await m.insert(JobVersionEntity, {
        id: newId(now),
        tenantId: scope.tenantId,
        jobId: jobRow.id,
        version: jobRow.currentVersion,
        definition: parsed.value as never,
        createdAt: now,
      });
      return jobRow;
    });
  };

  const start = (jobName: string, key = newId()) =>
    db.tx(async (m) => {
      const { run } = await creation.createRun(m, scope, {
        jobName,
        params: {},
        logicalDate: Date.now(),
        dedupeKey: `test:${key}`,
        triggerType: 'manual',
        triggerId: null,
      });
      return run;
    });

  const tasks = async (runId: string): Promise<Record<string, TaskState>> =>
    Object.fromEntries(
      (await db.manager.find(TaskRunEntity, { where: { tenantId: scope.tenantId, runId } })).map((t) => [
        t.taskKey,
        t.state,
      ]),
    );
  const runState = async (runId: string) =>
    (await db.manager.findOneByOrFail(RunEntity, { tenantId: scope.tenantId, id: runId })).state;

  /** Offers the queued tasks named (as the dispatcher does) and starts them (as an ACK does); returns attempt ids. */
  /** Assigns the tasks and, unless `acked: false`, starts them as their agent's ACK would. */
  const startTasks = async (runId: string, keys: readonly string[], o: { acked?: boolean } = {}) =>
    db.tx(async (m) => {
      const rows = await m.find(TaskRunEntity, {
        where: { tenantId: scope.tenantId, runId, taskKey: In([...keys]) },
      });
      const now = Date.now();
      const ids: Record<string, string> = {};
      for (const t of rows) {
        const attemptId = newId(now);
        ids[t.taskKey] = attemptId;
        const compensation = t.state === 'compensating';
        await r.moves.assign(m, [{ tenantId: t.tenantId, taskRunId: t.id, attemptId, compensation }], now);
        await insertAttempt(m, t, attemptId, compensation ? 'compensation' : 'main', now, o.acked ?? true);
      }
      return ids;
    });

  const insertAttempt = async (
    m: EntityManager,
    t: TaskRunEntity,
    attemptId: string,
    kind: 'main' | 'compensation',
    now: number,
    acked = true,
  ) => {
    await m.insert(AttemptEntity, {
      id: attemptId,
      tenantId: t.tenantId,
      runId: t.runId,
      taskRunId: t.id,
      taskKey: t.taskKey,
      number: t.attemptsUsed + 1,
      state: acked ? 'running' : 'assigned',
      agentId: 'agent-1',
      sessionId: 'session-1',
      expiresAt: now + 60_000,
      deadlineAt: null,
      assignedAt: now,
      startedAt: acked ? now : null,
      finishedAt: null,
      exitCode: null,
      error: null,
      logBytes: 0,
      logSeq: -1,
      kind,
      lateResult: null,
    });
    if (kind === 'main' && acked) {
      await r.moves.tasks(m, { tenantId: t.tenantId }, { ids: [t.id] }, ['assigned'], 'running', {
        attemptsUsed: t.attemptsUsed + 1,
        startedAt: t.startedAt ?? now,
      });
    }
  };

  const finish = (attemptId: string, result: Partial<FinishInput> & Pick<FinishInput, 'state'>, agentId?: string) =>
    db.tx((m) =>
      completion.finishAttempts(m, [
        {
          attemptId,
          agentId,
          tenantId: scope.tenantId,
          result: { exitCode: null, error: null, output: null, at: Date.now(), ...result },
        },
      ]),
    );

  const locked = (runId: string) => db.tx(async (m) => (await r.lockRun(m, scope, runId))!);

  return {
    db,
    r,
    scope,
    creation,
    completion,
    compensation,
    hooks,
    operator,
    job,
    start,
    tasks,
    runState,
    startTasks,
    finish,
    locked,
    close: () => db.close(),
  };
}
