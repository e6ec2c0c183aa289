import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Server, ServerCredentials, status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import { createConnection as createMysqlConnection } from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import {
  AgentServiceService,
  LogChunk_Stream,
  ResultAck_Rejection,
  Result_Status,
  type AgentMessage,
  type Assign,
  type LogChunk,
  type Result,
  type ServerMessage,
  type SqlSpec,
  type TaskSpec,
} from '@baton/proto';
import { startAgent } from './index.js';
import { readJournalSync } from './journal.js';
import type { AgentHandle, AgentLogger, AgentOptions } from './index.js';

// ---------------------------------------------------------------- scripted gateway (real grpc-js server)

type GatewayCall = ServerDuplexStream<AgentMessage, ServerMessage>;
type Case = NonNullable<AgentMessage['msg']>['$case'];
type ValueOf<C extends Case> = Extract<NonNullable<AgentMessage['msg']>, { $case: C }>['value'];

class Session {
  readonly messages: AgentMessage[] = [];
  closed = false;
  private listeners: Array<() => void> = [];

  constructor(readonly call: GatewayCall) {
    call.on('data', (m: AgentMessage) => {
      this.messages.push(m);
      this.notify();
    });
    const onGone = (): void => {
      this.closed = true;
      this.notify();
    };
    call.on('end', () => {
      onGone();
      // Mirror a well-behaved server: when the agent half-closes, finish the call.
      if (!call.writableEnded) call.end();
    });
    call.on('cancelled', onGone);
    call.on('error', onGone);
  }

  private notify(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  all<C extends Case>(kind: C): Array<ValueOf<C>> {
    return this.messages.filter((m) => m.msg?.$case === kind).map((m) => m.msg!.value as ValueOf<C>);
  }

  /** Resolves with the first message of that kind (received so far or later) matching pred. */
  async next<C extends Case>(
    kind: C,
    pred: (v: ValueOf<C>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<ValueOf<C>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.all(kind).find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${kind}; got ${JSON.stringify(this.messages.map((m) => m.msg?.$case))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.listeners.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('session did not close');
      await sleep(10);
    }
  }

  send(msg: ServerMessage['msg']): void {
    this.call.write({ msg });
  }

  welcome(rejectedAttemptIds: string[] = [], heartbeatIntervalMs = 50): void {
    this.send({
      $case: 'welcome',
      value: {
        sessionId: `s-${Math.random().toString(36).slice(2, 8)}`,
        agentId: 'agent-1',
        heartbeatIntervalMs,
        leaseTtlMs: 1000,
        rejectedAttemptIds,
        ackTimeoutMs: 1000,
        serverTimeMs: Date.now(),
      },
    });
  }

  assign(attemptId: string, spec: Partial<TaskSpec>, extra: Partial<Assign> = {}): void {
    this.send({
      $case: 'assign',
      value: {
        attemptId,
        runId: 'run-1',
        taskKey: 'task-a',
        attemptNumber: 1,
        spec: {
          type: 'shell',
          command: '',
          env: {},
          timeoutMs: 0,
          killGraceMs: 0,
          workingDir: '',
          http: undefined,
          script: undefined,
          sql: undefined,
          ...spec,
        },
        deadlineMs: 0,
        traceContext: {},
        idempotencyKey: `idem-${attemptId}`,
        ackDeadlineMs: 0,
        secretValues: [],
        ...extra,
      },
    });
  }

  ack(attemptId: string): void {
    this.send({ $case: 'resultAck', value: { attemptId, accepted: true, rejection: 0, detail: '' } });
  }

  /** Ends the stream from the server side with status OK. */
  end(): void {
    this.call.end();
  }

  logText(attemptId: string): string {
    return Buffer.concat(
      this.all('logChunk')
        .filter((c) => c.attemptId === attemptId)
        .map((c) => c.data),
    ).toString();
  }
}

class Gateway {
  readonly server = new Server();
  readonly sessions: Session[] = [];
  port = 0;
  /** When set, new streams are failed with this status instead of being served. */
  refuseWith: { code: GrpcStatus; details: string } | null = null;
  refused = 0;
  private waiting: Array<() => void> = [];

  async start(): Promise<void> {
    this.server.addService(AgentServiceService, {
      connect: (call: GatewayCall) => {
        if (this.refuseWith) {
          this.refused += 1;
          call.emit('error', this.refuseWith);
          return;
        }
        this.sessions.push(new Session(call));
        for (const w of this.waiting.splice(0)) w();
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
  }

  /** The n-th stream (0-based) the agent opened. */
  async session(n: number, timeoutMs = 5000): Promise<Session> {
    const deadline = Date.now() + timeoutMs;
    while (this.sessions.length <= n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no session #${n}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiting.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.sessions[n]!;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

// ---------------------------------------------------------------- helpers

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** True if the pid exists and is not a zombie (a zombie has already died; PID 1 of a container may reap late). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- databases (local MariaDB and PostgreSQL servers)

/** In CI a missing database fails the suite; locally its cases are skipped with a warning. */
const CI = process.env['CI'] === 'true';
const DB_URLS = {
  mysql: process.env['BATON_TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test',
  postgres: process.env['BATON_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
};
type Db = keyof typeof DB_URLS;

/** Runs one statement directly with the driver (setup, cleanup, checks), outside the agent. */
async function dbQuery(db: Db, statement: string): Promise<Array<Record<string, unknown>>> {
  if (db === 'mysql') {
    const conn = await createMysqlConnection({ uri: DB_URLS.mysql, connectTimeout: 2000 });
    try {
      const [rows] = await conn.query(statement);
      return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
    } finally {
      conn.destroy();
    }
  }
  const client = new PgClient({ connectionString: DB_URLS.postgres, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return (await client.query(statement)).rows as Array<Record<string, unknown>>;
  } finally {
    await client.end();
  }
}

const reachable = new Map<Db, Promise<string | null>>();

/** Skips the running test (visibly) when the database is down, or fails it in CI. */
async function requireDb(db: Db, skip: (note?: string) => never): Promise<void> {
  let probe = reachable.get(db);
  if (!probe) {
    probe = dbQuery(db, 'SELECT 1').then(
      () => null,
      (err: unknown) => String((err as Error)?.message ?? err),
    );
    reachable.set(db, probe);
  }
  const error = await probe;
  if (error === null) return;
  if (CI) throw new Error(`${db} is not reachable (${error}); CI needs it`);
  console.warn(`[agent.spec] skipping a ${db} case: ${db} is not reachable (${error})`);
  skip(`${db} not reachable`);
}

/** Waits until `running` (a query over the server's process list) finds nothing: closing a socket is not enough. */
async function stoppedOnServer(db: Db, running: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while ((await dbQuery(db, running)).length > 0) {
    if (Date.now() > deadline) throw new Error(`the statement still runs on ${db}`);
    await sleep(50);
  }
}

function sqlSpec(driver: Db, over: Partial<SqlSpec>): Partial<TaskSpec> {
  return {
    type: 'sql',
    sql: { driver, url: DB_URLS[driver], statement: '', paramsJson: '', maxRows: 0, timeoutMs: 0, ...over },
  };
}

interface LogLine {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

function captureLogger(lines: LogLine[]): AgentLogger {
  const rec = (level: string) => (msg: string, fields?: Record<string, unknown>) => lines.push({ level, msg, fields });
  return { info: rec('info'), warn: rec('warn'), error: rec('error'), debug: rec('debug') };
}

// ---------------------------------------------------------------- tests

describe('agent', () => {
  let gw: Gateway;
  let workDir: string;
  /** The result the agent's journal holds for the attempt, if any. */
  const journaled = (attemptId: string) => readJournalSync(join(workDir, 'journal')).results.get(attemptId);
  let agents: AgentHandle[];
  let logs: LogLine[];

  beforeEach(async () => {
    gw = new Gateway();
    await gw.start();
    workDir = mkdtempSync(join(tmpdir(), 'baton-agent-'));
    agents = [];
    logs = [];
  });

  afterEach(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    gw.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  function agent(over: Partial<AgentOptions> = {}): AgentHandle {
    const a = startAgent({
      server: `127.0.0.1:${gw.port}`,
      token: 'tok-123',
      name: 'agent-a',
      labels: { zone: 'eu', gpu: 'no' },
      slots: 2,
      cpuMillis: 2000,
      memoryMb: 512,
      workDir,
      version: 'test',
      reconnect: { initialMs: 50, maxMs: 200 },
      logger: captureLogger(logs),
      baseEnv: { PATH: process.env['PATH'] },
      ...over,
    });
    agents.push(a);
    return a;
  }

  async function welcomed(n = 0): Promise<Session> {
    const s = await gw.session(n);
    await s.next('hello');
    s.welcome();
    return s;
  }

  it('sends Hello, runs a shell task, streams logs, journals the result until ResultAck', async () => {
    const a = agent();
    const s = await gw.session(0);
    const hello = await s.next('hello');
    expect(hello).toMatchObject({
      token: 'tok-123',
      name: 'agent-a',
      labels: { zone: 'eu', gpu: 'no' },
      slots: 2,
      cpuMillis: 2000,
      memoryMb: 512,
      version: 'test',
      runningAttemptIds: [],
    });
    s.welcome();
    await a.waitConnected(2000);
    expect(a.connected).toBe(true);
    expect(a.sessionId).toMatch(/^s-/);

    s.assign('att-1', {
      command: `echo hi; echo "$BATON_ATTEMPT_ID $BATON_ATTEMPT $BATON_RUN_ID $BATON_TASK_KEY $BATON_IDEMPOTENCY_KEY $FOO" >&2; echo '{"a":1}' > "$BATON_OUTPUT"`,
      env: { FOO: 'bar' },
    });
    await s.next('ack', (x) => x.attemptId === 'att-1');
    const result = await s.next('result', (r) => r.attemptId === 'att-1');
    expect(result).toMatchObject({ status: Result_Status.SUCCEEDED, exitCode: 0, outputJson: '{"a":1}', error: '' });
    expect(result.finishedAtMs).toBeGreaterThanOrEqual(result.startedAtMs);

    const chunks = s.all('logChunk').filter((c) => c.attemptId === 'att-1');
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    const stdout = Buffer.concat(
      chunks.filter((c) => c.stream === LogChunk_Stream.STDOUT).map((c) => c.data),
    ).toString();
    const stderr = Buffer.concat(
      chunks.filter((c) => c.stream === LogChunk_Stream.STDERR).map((c) => c.data),
    ).toString();
    expect(stdout).toBe('hi\n');
    expect(stderr).toBe('att-1 1 run-1 task-a idem-att-1 bar\n');
    // Logs precede the result on the stream.
    const order = s.messages.map((m) => m.msg?.$case);
    expect(order.lastIndexOf('logChunk')).toBeLessThan(order.indexOf('result'));

    expect(journaled('att-1')?.status).toBe(Result_Status.SUCCEEDED);

    // A duplicate Assign is only re-acknowledged.
    s.assign('att-1', { command: 'echo again' });
    await until(() => s.all('ack').filter((x) => x.attemptId === 'att-1').length === 2, 2000, 'second ack');

    s.ack('att-1');
    await until(() => !journaled('att-1'), 2000, 'journal removal');
    await sleep(100);
    expect(s.all('result')).toHaveLength(1);
    expect(s.logText('att-1')).not.toContain('again');
  });

  it('does not start an offer received after its ACK deadline (by the server clock), and forgets rejected results', async () => {
    const a = agent();
    const s = await welcomed();
    await a.waitConnected(2000);
    // The server clock says the deadline has passed although ours is a minute behind it.
    s.send({
      $case: 'welcome',
      value: {
        sessionId: 's-skew',
        agentId: 'agent-1',
        heartbeatIntervalMs: 50,
        leaseTtlMs: 1000,
        rejectedAttemptIds: [],
        ackTimeoutMs: 1000,
        serverTimeMs: Date.now() + 60_000,
      },
    });
    s.assign('att-late', { command: 'touch "$BATON_OUTPUT.ran"' }, { ackDeadlineMs: Date.now() + 30_000 });
    s.assign('att-fresh', { command: 'echo ok' }, { ackDeadlineMs: Date.now() + 120_000 });
    await s.next('ack', (x) => x.attemptId === 'att-fresh');
    await s.next('result', (r) => r.attemptId === 'att-fresh');
    expect(s.all('ack').map((x) => x.attemptId)).toEqual(['att-fresh']);
    expect(s.all('logChunk').filter((c) => c.attemptId === 'att-late')).toEqual([]);

    expect(journaled('att-fresh')).toBeDefined();
    s.send({
      $case: 'resultAck',
      value: { attemptId: 'att-fresh', accepted: false, rejection: ResultAck_Rejection.STALE, detail: 'already lost' },
    });
    await until(() => !journaled('att-fresh'), 2000, 'journal removal after a rejection');
  });

  it('masks the secret values of the Assign in logs, output and error, also split across chunks', async () => {
    agent();
    const s = await welcomed();
    const value = 'sEcReT-vAlUe-42';
    s.assign(
      'att-secret',
      {
        command: [
          'printf %s "$V" | head -c 6; sleep 0.3; printf "%s\\n" "$(printf %s "$V" | tail -c +7)"',
          'echo "err $V" >&2',
          `printf '{"v": "%s"}' "$V" > "$BATON_OUTPUT"`,
          'echo "failing with $V" >&2; exit 4',
        ].join('\n'),
        env: { V: value },
      },
      { secretValues: [value] },
    );
    const r = await s.next('result', (x) => x.attemptId === 'att-secret');
    const log = s.logText('att-secret');
    expect(log).toContain('***\n');
    expect(log).toContain('err ***');
    expect(log).not.toContain(value);
    expect(log).not.toContain(value.slice(6));
    expect(JSON.parse(r.outputJson)).toEqual({ v: '***' });
    expect(r.exitCode).toBe(4);
  });

  it('reports a non-zero exit as FAILED with the exit code', async () => {
    agent();
    const s = await welcomed();
    s.assign('att-2', { command: 'echo oops >&2; exit 3' });
    const r = await s.next('result', (x) => x.attemptId === 'att-2');
    expect(r).toMatchObject({ status: Result_Status.FAILED, exitCode: 3 });
    expect(r.error).toContain('exit code 3');
    expect(s.logText('att-2')).toBe('oops\n');
  });

  it('keeps the exit status but reports invalid output JSON', async () => {
    agent();
    const s = await welcomed();
    s.assign('att-json', { command: `echo 'not json' > "$BATON_OUTPUT"` });
    const r = await s.next('result', (x) => x.attemptId === 'att-json');
    expect(r).toMatchObject({ status: Result_Status.SUCCEEDED, exitCode: 0, outputJson: '' });
    expect(r.error).toContain('not valid JSON');
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    agent();
    const s = await welcomed();
    s.assign('att-3', {
      command: `sh -c 'sleep 30 & echo "gc=$!"; wait'; echo unreachable`,
      timeoutMs: 400,
      killGraceMs: 1000,
    });
    await s.next('logChunk', (c) => c.attemptId === 'att-3' && c.data.toString().includes('gc='));
    const pid = Number(/gc=(\d+)/.exec(s.logText('att-3'))![1]);
    expect(isAlive(pid)).toBe(true);
    const r = await s.next('result', (x) => x.attemptId === 'att-3');
    expect(r.status).toBe(Result_Status.TIMED_OUT);
    expect(r.error).toBe('timed out after 0.4s');
    expect(r.exitCode).toBe(128 + 15);
    expect(r.finishedAtMs - r.startedAtMs).toBeLessThan(1000);
    await until(() => !isAlive(pid), 2000, 'grandchild to die');
    expect(s.logText('att-3')).not.toContain('unreachable');
  });

  it('escalates to SIGKILL after the kill grace when SIGTERM is ignored', async () => {
    agent();
    const s = await welcomed();
    s.assign('att-trap', { command: `trap '' TERM; echo ready; sleep 30`, timeoutMs: 200, killGraceMs: 300 });
    const r = await s.next('result', (x) => x.attemptId === 'att-trap');
    expect(r).toMatchObject({ status: Result_Status.TIMED_OUT, exitCode: 128 + 9 });
    expect(r.finishedAtMs - r.startedAtMs).toBeGreaterThanOrEqual(450);
  });

  it('reconnects after the server ends the stream, names running attempts in Hello, re-sends the journaled result', async () => {
    agent();
    const s1 = await welcomed(0);
    s1.assign('att-4', { command: 'sleep 0.5; echo done' });
    await s1.next('ack', (x) => x.attemptId === 'att-4');
    await s1.next('heartbeat', (h) => h.runningAttemptIds.includes('att-4'));
    s1.end();

    const s2 = await gw.session(1);
    const hello2 = await s2.next('hello');
    expect(hello2.runningAttemptIds).toEqual(['att-4']);
    s2.welcome();
    const r2 = await s2.next('result', (x) => x.attemptId === 'att-4');
    expect(r2.status).toBe(Result_Status.SUCCEEDED);
    expect(s2.logText('att-4')).toBe('done\n');
    // No ResultAck: the server goes away again.
    s2.end();

    const s3 = await gw.session(2);
    const hello3 = await s3.next('hello');
    expect(hello3.runningAttemptIds).toEqual([]);
    await sleep(100);
    expect(s3.all('result')).toHaveLength(0); // results wait for Welcome
    s3.welcome();
    const r3 = await s3.next('result', (x) => x.attemptId === 'att-4');
    expect(r3).toEqual(r2);
    expect(journaled('att-4')).toBeDefined();
    s3.ack('att-4');
    await until(() => !journaled('att-4'), 2000, 'journal removal');
  });

  it('buffers logs produced while disconnected and sends them before the result', async () => {
    agent();
    const s1 = await welcomed(0);
    s1.assign('att-off', { command: 'echo early; sleep 0.3; echo late; echo "{\\"n\\":2}" > "$BATON_OUTPUT"' });
    await s1.next('logChunk', (c) => c.attemptId === 'att-off');
    s1.end();

    const s2 = await gw.session(1);
    await s2.next('hello');
    // Hold the Welcome until the task has finished offline.
    await sleep(600);
    expect(s2.all('logChunk')).toHaveLength(0);
    s2.welcome();
    const r = await s2.next('result', (x) => x.attemptId === 'att-off');
    expect(r).toMatchObject({ status: Result_Status.SUCCEEDED, outputJson: '{"n":2}' });
    expect(s1.logText('att-off')).toBe('early\n');
    expect(s2.logText('att-off')).toBe('late\n');
    const seqs = [...s1.all('logChunk'), ...s2.all('logChunk')].map((c: LogChunk) => c.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const order = s2.messages.map((m) => m.msg?.$case);
    expect(order.lastIndexOf('logChunk')).toBeLessThan(order.indexOf('result'));
  });

  it('delivers large output completely and in order, honouring backpressure', async () => {
    agent();
    const s = await welcomed();
    // 3 MB of numbered lines: far more than the stream buffers. The server stops reading until the agent's
    // write() pushes back, so the agent must queue (however fast this machine drains the stream otherwise).
    s.call.pause();
    s.assign('att-big', { command: 'seq 1 400000' });
    await until(() => logs.some((l) => l.msg.includes('queueing until drain')), 10000, 'backpressure');
    s.call.resume();
    const r = await s.next('result', (x) => x.attemptId === 'att-big', 15000);
    expect(r.status).toBe(Result_Status.SUCCEEDED);
    const chunks = s.all('logChunk').filter((c) => c.attemptId === 'att-big');
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    expect(Math.max(...chunks.map((c) => c.data.length))).toBeLessThanOrEqual(32 * 1024);
    const lines = s.logText('att-big').trimEnd().split('\n');
    expect(lines).toHaveLength(400000);
    expect(lines[399999]).toBe('400000');
  });

  it('bounds the offline log buffer by dropping the oldest output', async () => {
    agent();
    const s1 = await welcomed(0);
    // The flood starts only once the agent is disconnected and ends before it is welcomed again.
    const go = join(workDir, 'flood.go');
    const done = join(workDir, 'flood.done');
    s1.assign('att-flood', {
      command: `while [ ! -f '${go}' ]; do sleep 0.02; done; seq 1 300000; echo last-line; touch '${done}'`,
    });
    await s1.next('ack');
    s1.end();
    const s2 = await gw.session(1);
    await s2.next('hello');
    writeFileSync(go, '');
    await until(() => existsSync(done), 10_000, 'the flood to end');
    await sleep(200);
    s2.welcome();
    await s2.next('result', (x) => x.attemptId === 'att-flood');
    const text = s2.logText('att-flood');
    expect(text.length).toBeLessThanOrEqual(1024 * 1024);
    expect(text.length).toBeGreaterThan(900 * 1024);
    expect(text.endsWith('last-line\n')).toBe(true);
    // The oldest output is gone (a kept chunk may start mid-line, so look for the first lines, not the first byte).
    expect(text.includes('1\n2\n3\n4\n5\n')).toBe(false);
    expect(logs.some((l) => l.level === 'warn' && l.msg.includes('dropping the oldest'))).toBe(true);
  });

  it('reconnects promptly when the server comes back on the same address', async () => {
    const a = agent({ reconnect: { initialMs: 50, maxMs: 300 } });
    await welcomed(0);
    await a.waitConnected(2000);
    const port = gw.port;
    gw.stop();
    await until(() => !a.connected, 2000, 'disconnect');
    // Stay down long enough for several failed attempts (and the channel's own backoff to grow).
    await sleep(1500);
    const gw2 = new Gateway();
    await new Promise<void>((resolve, reject) =>
      gw2.server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    gw2.server.addService(AgentServiceService, {
      connect: (call: GatewayCall) => {
        const s = new Session(call);
        gw2.sessions.push(s);
        s.welcome();
      },
    });
    try {
      const t0 = Date.now();
      await a.waitConnected(3000);
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await Promise.all(agents.splice(0).map((x) => x.stop()));
      gw2.stop();
    }
  });

  it('cancels a running attempt', async () => {
    agent();
    const s = await welcomed();
    s.assign('att-5', { command: 'echo started; sleep 30' });
    await s.next('logChunk', (c) => c.attemptId === 'att-5' && c.data.toString().includes('started'));
    s.send({ $case: 'cancel', value: { attemptId: 'att-5', reason: 'user asked' } });
    const r = await s.next('result', (x) => x.attemptId === 'att-5');
    expect(r.status).toBe(Result_Status.CANCELLED);
    expect(r.error).toBe('cancelled: user asked');
  });

  it('runs noop tasks and rejects unknown types', async () => {
    agent();
    const s = await welcomed();
    s.assign('att-6', { type: 'noop' });
    s.assign('att-7', { type: 'docker' });
    const noop = await s.next('result', (x) => x.attemptId === 'att-6');
    expect(noop).toMatchObject({ status: Result_Status.SUCCEEDED, exitCode: 0 });
    const unknown = await s.next('result', (x) => x.attemptId === 'att-7');
    expect(unknown.status).toBe(Result_Status.FAILED);
    expect(unknown.error).toContain("unknown task type 'docker'");
  });

  it('stops attempts the server rejects in Welcome, without a result', async () => {
    agent();
    const s1 = await welcomed(0);
    s1.assign('att-rej', { command: 'sleep 30' });
    await s1.next('heartbeat', (h) => h.runningAttemptIds.includes('att-rej'));
    s1.end();
    const s2 = await gw.session(1);
    expect((await s2.next('hello')).runningAttemptIds).toEqual(['att-rej']);
    s2.welcome(['att-rej']);
    await s2.next('heartbeat', (h) => h.runningAttemptIds.length === 0 && h.freeSlots === 2, 3000);
    await sleep(100);
    expect(s2.all('result')).toHaveLength(0);
    expect(journaled('att-rej')).toBeUndefined();
  });

  it('delivers results journaled by an earlier agent process after the first Welcome', async () => {
    // Journaled by an agent older than Result.cpu_millis: delivered with 0 (not measured).
    const old: Omit<Result, 'cpuMillis'> = {
      attemptId: 'att-old',
      status: Result_Status.SUCCEEDED,
      exitCode: 0,
      outputJson: '{"x":true}',
      error: '',
      startedAtMs: 1000,
      finishedAtMs: 2000,
    };
    mkdirSync(join(workDir, 'journal'), { recursive: true });
    writeFileSync(join(workDir, 'journal', 'att-old.json'), JSON.stringify(old));
    writeFileSync(join(workDir, 'journal', '.att-x.1234.tmp'), '{"half');
    agent();
    const s = await gw.session(0);
    await s.next('hello');
    await sleep(50);
    expect(s.all('result')).toHaveLength(0);
    s.welcome();
    expect(await s.next('result')).toEqual({ ...old, cpuMillis: 0 });
    expect(existsSync(join(workDir, 'journal', '.att-x.1234.tmp'))).toBe(false);
    // Taken over into the journal's file.
    expect(existsSync(join(workDir, 'journal', 'att-old.json'))).toBe(false);
    expect(journaled('att-old')).toEqual({ ...old, cpuMillis: 0 });
    s.ack('att-old');
    await until(() => !journaled('att-old'), 2000, 'journal removal');
  });

  it('runs http tasks', async () => {
    const http: HttpServer = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url === '/json') {
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ method: req.method, body, h: req.headers['x-test'] }));
        } else {
          res.writeHead(500);
          res.end('boom');
        }
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      agent();
      const s = await welcomed();
      s.assign('att-h1', {
        type: 'http',
        http: { method: 'POST', url: `${base}/json`, headers: { 'x-test': 'yes' }, body: 'payload', expectStatus: [] },
      });
      s.assign('att-h2', {
        type: 'http',
        http: { method: 'GET', url: `${base}/fail`, headers: {}, body: '', expectStatus: [] },
      });
      s.assign('att-h3', {
        type: 'http',
        http: { method: 'GET', url: `${base}/fail`, headers: {}, body: '', expectStatus: [500] },
      });
      const r1 = await s.next('result', (x) => x.attemptId === 'att-h1');
      expect(r1.status).toBe(Result_Status.SUCCEEDED);
      expect(JSON.parse(r1.outputJson)).toEqual({ method: 'POST', body: 'payload', h: 'yes' });
      expect(s.logText('att-h1')).toContain('HTTP 201');
      const r2 = await s.next('result', (x) => x.attemptId === 'att-h2');
      expect(r2.status).toBe(Result_Status.FAILED);
      expect(r2.error).toContain('unexpected HTTP status 500');
      expect(JSON.parse(r2.outputJson)).toEqual({ status: 500, body: 'boom' });
      const r3 = await s.next('result', (x) => x.attemptId === 'att-h3');
      expect(r3.status).toBe(Result_Status.SUCCEEDED);
    } finally {
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    }
  });

  // ---------------------------------------------------------------- script tasks

  it('runs script tasks with bash, node and python3, writing output JSON', async () => {
    agent();
    const s = await welcomed();
    s.assign('att-sb', {
      type: 'script',
      env: { FOO: 'bar' },
      script: {
        interpreter: 'bash',
        body: 'set -euo pipefail\necho "bash $BATON_ATTEMPT_ID $FOO"\nprintf \'{"lang":"%s"}\' bash > "$BATON_OUTPUT"\n',
      },
    });
    s.assign('att-sn', {
      type: 'script',
      script: {
        interpreter: 'node',
        body: [
          "const fs = require('node:fs');",
          "console.error('node', process.env.BATON_TASK_KEY);",
          "fs.writeFileSync(process.env.BATON_OUTPUT, JSON.stringify({ lang: 'node' }));",
        ].join('\n'),
      },
    });
    s.assign('att-sp', {
      type: 'script',
      script: {
        interpreter: 'python3',
        body: [
          'import json, os',
          'print("py", os.environ["BATON_RUN_ID"])',
          'with open(os.environ["BATON_OUTPUT"], "w") as f:',
          '    json.dump({"lang": "python3"}, f)',
        ].join('\n'),
      },
    });
    s.assign('att-sx', { type: 'script', script: { interpreter: 'python3', body: 'import sys\nsys.exit(4)\n' } });

    const rb = await s.next('result', (x) => x.attemptId === 'att-sb');
    expect(rb).toMatchObject({ status: Result_Status.SUCCEEDED, exitCode: 0, outputJson: '{"lang":"bash"}' });
    expect(s.logText('att-sb')).toBe('bash att-sb bar\n');
    expect(readFileSync(join(workDir, 'runs', 'att-sb', 'script.sh'), 'utf8')).toContain('echo "bash');

    const rn = await s.next('result', (x) => x.attemptId === 'att-sn');
    expect(rn).toMatchObject({ status: Result_Status.SUCCEEDED, exitCode: 0, outputJson: '{"lang":"node"}' });
    const nodeLog = s.all('logChunk').filter((c) => c.attemptId === 'att-sn');
    expect(nodeLog.map((c) => c.stream)).toContain(LogChunk_Stream.STDERR);
    expect(s.logText('att-sn')).toBe('node task-a\n');

    const rp = await s.next('result', (x) => x.attemptId === 'att-sp');
    expect(rp).toMatchObject({ status: Result_Status.SUCCEEDED, exitCode: 0, outputJson: '{"lang": "python3"}' });
    expect(s.logText('att-sp')).toBe('py run-1\n');

    const rx = await s.next('result', (x) => x.attemptId === 'att-sx');
    expect(rx).toMatchObject({ status: Result_Status.FAILED, exitCode: 4, error: 'exit code 4' });
  });

  it('kills the whole process group of a script on timeout', async () => {
    agent();
    const s = await welcomed();
    s.assign('att-st', {
      type: 'script',
      timeoutMs: 400,
      killGraceMs: 1000,
      script: { interpreter: 'bash', body: 'sleep 30 &\necho "gc=$!"\nwait\necho unreachable\n' },
    });
    await s.next('logChunk', (c) => c.attemptId === 'att-st' && c.data.toString().includes('gc='));
    const pid = Number(/gc=(\d+)/.exec(s.logText('att-st'))![1]);
    expect(isAlive(pid)).toBe(true);
    const r = await s.next('result', (x) => x.attemptId === 'att-st');
    expect(r).toMatchObject({ status: Result_Status.TIMED_OUT, exitCode: 128 + 15, error: 'timed out after 0.4s' });
    await until(() => !isAlive(pid), 2000, 'grandchild to die');
    expect(s.logText('att-st')).not.toContain('unreachable');
  });

  it('fails script tasks with an unknown interpreter or no script', async () => {
    agent();
    const s = await welcomed();
    s.assign('att-su', { type: 'script', script: { interpreter: 'ruby', body: 'puts 1' } });
    s.assign('att-sm', { type: 'script' });
    const ru = await s.next('result', (x) => x.attemptId === 'att-su');
    expect(ru.status).toBe(Result_Status.FAILED);
    expect(ru.error).toBe("unknown script interpreter 'ruby' (expected bash, sh, node, python3)");
    const rm = await s.next('result', (x) => x.attemptId === 'att-sm');
    expect(rm).toMatchObject({ status: Result_Status.FAILED, error: 'script task has no script' });
  });

  // ---------------------------------------------------------------- sql tasks

  const dialects: Array<{
    db: Db;
    label: string;
    columns: string;
    insert: string;
    bytesAndTime: string;
    sleep: string;
    running: string;
  }> = [
    {
      db: 'mysql',
      label: 'MariaDB',
      columns: 'id INT PRIMARY KEY, name VARCHAR(20), big BIGINT',
      insert: 'VALUES (?, ?, ?), (?, ?, ?)',
      bytesAndTime: "SELECT X'00ff' AS b, TIMESTAMP '2024-01-02 03:04:05' AS ts",
      sleep: 'SELECT SLEEP(5)',
      running: "SELECT id FROM information_schema.processlist WHERE info = 'SELECT SLEEP(5)'",
    },
    {
      db: 'postgres',
      label: 'PostgreSQL',
      columns: 'id INT PRIMARY KEY, name VARCHAR(20), big BIGINT',
      insert: 'VALUES ($1, $2, $3), ($4, $5, $6)',
      bytesAndTime: "SELECT '\\x00ff'::bytea AS b, TIMESTAMPTZ '2024-01-02 03:04:05+00' AS ts",
      sleep: 'SELECT pg_sleep(5)',
      running: "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)' AND state = 'active'",
    },
  ];

  for (const d of dialects) {
    it(`runs sql on ${d.label}: bound params, affected rows, rows capped at maxRows, JSON-safe values`, async ({
      skip,
    }) => {
      await requireDb(d.db, skip);
      const table = `baton_agent_${d.db}_${Math.random().toString(36).slice(2, 8)}`;
      agent();
      const s = await welcomed();
      try {
        s.assign('att-q1', sqlSpec(d.db, { statement: `CREATE TABLE ${table} (${d.columns})` }));
        expect((await s.next('result', (x) => x.attemptId === 'att-q1')).status).toBe(Result_Status.SUCCEEDED);

        s.assign(
          'att-q2',
          sqlSpec(d.db, {
            statement: `INSERT INTO ${table} (id, name, big) ${d.insert}`,
            paramsJson: JSON.stringify([1, 'one', '9007199254740993', 2, "o'two", null]),
          }),
        );
        const r2 = await s.next('result', (x) => x.attemptId === 'att-q2');
        expect(r2).toMatchObject({ status: Result_Status.SUCCEEDED, exitCode: 0, error: '' });
        expect(JSON.parse(r2.outputJson)).toEqual({
          driver: d.db,
          rowCount: 0,
          affectedRows: 2,
          rows: [],
          truncated: false,
        });
        expect(s.logText('att-q2')).toContain('2 rows affected\n');

        s.assign('att-q3', sqlSpec(d.db, { statement: `SELECT id, name, big FROM ${table} ORDER BY id`, maxRows: 1 }));
        const r3 = await s.next('result', (x) => x.attemptId === 'att-q3');
        expect(r3.status).toBe(Result_Status.SUCCEEDED);
        expect(JSON.parse(r3.outputJson)).toEqual({
          driver: d.db,
          rowCount: 2,
          affectedRows: null,
          rows: [{ id: 1, name: 'one', big: '9007199254740993' }],
          truncated: true,
        });
        const log3 = s.logText('att-q3');
        expect(log3).toContain(`connected to ${d.db} at ${new URL(DB_URLS[d.db]).host}/test\n`);
        expect(log3).toContain(`SELECT id, name, big FROM ${table} ORDER BY id\n`);
        expect(log3).toContain('2 rows\n');

        s.assign('att-q4', sqlSpec(d.db, { statement: d.bytesAndTime }));
        const r4 = await s.next('result', (x) => x.attemptId === 'att-q4');
        const out4 = JSON.parse(r4.outputJson);
        expect(out4.rows[0].b).toBe(Buffer.from([0, 255]).toString('base64'));
        expect(out4.rows[0].ts).toMatch(/^2024-01-0[12]T\d\d:04:05\.000Z$/);
      } finally {
        await dbQuery(d.db, `DROP TABLE IF EXISTS ${table}`);
      }
    });

    it(`fails sql on ${d.label} with the database's error message`, async ({ skip }) => {
      await requireDb(d.db, skip);
      agent();
      const s = await welcomed();
      s.assign('att-qe', sqlSpec(d.db, { statement: 'SELEC 1' }));
      const r = await s.next('result', (x) => x.attemptId === 'att-qe');
      expect(r).toMatchObject({ status: Result_Status.FAILED, exitCode: 1, outputJson: '' });
      expect(r.error).toMatch(/syntax/i);
      expect(s.logText('att-qe')).toContain(`error: ${r.error}`);
    });

    it(`times out a slow statement on ${d.label} and stops it on the server`, async ({ skip }) => {
      await requireDb(d.db, skip);
      agent();
      const s = await welcomed();
      s.assign('att-qt', sqlSpec(d.db, { statement: d.sleep, timeoutMs: 300 }));
      const r = await s.next('result', (x) => x.attemptId === 'att-qt');
      expect(r).toMatchObject({ status: Result_Status.TIMED_OUT, error: 'timed out after 0.3s' });
      expect(r.finishedAtMs - r.startedAtMs).toBeLessThan(2500);
      await stoppedOnServer(d.db, d.running);
    });

    it(`cancels a running statement on ${d.label}`, async ({ skip }) => {
      await requireDb(d.db, skip);
      agent();
      const s = await welcomed();
      s.assign('att-qc', sqlSpec(d.db, { statement: d.sleep }));
      await s.next('logChunk', (c) => c.attemptId === 'att-qc' && c.data.toString().includes(d.sleep));
      s.send({ $case: 'cancel', value: { attemptId: 'att-qc', reason: 'user asked' } });
      const r = await s.next('result', (x) => x.attemptId === 'att-qc');
      expect(r).toMatchObject({ status: Result_Status.CANCELLED, error: 'cancelled: user asked' });
      expect(r.finishedAtMs - r.startedAtMs).toBeLessThan(3000);
      await stoppedOnServer(d.db, d.running);
    });
  }

  it('never logs the password of a sql url', async ({ skip }) => {
    await requireDb('postgres', skip);
    await requireDb('mysql', skip);
    agent();
    const s = await welcomed();
    const withPassword = (url: string, password: string): string => {
      const u = new URL(url);
      u.password = password;
      return u.toString();
    };
    // Trust auth ignores the password: the connection succeeds and logs where it went.
    s.assign('att-pw1', {
      type: 'sql',
      sql: {
        driver: 'postgres',
        url: withPassword(DB_URLS.postgres, 'pg-Secret-123'),
        statement: 'SELECT 1 AS one',
        paramsJson: '',
        maxRows: 0,
        timeoutMs: 0,
      },
    });
    // A password the server refuses: the error comes back, the password does not.
    s.assign('att-pw2', {
      type: 'sql',
      sql: {
        driver: 'mysql',
        url: withPassword(DB_URLS.mysql, 'my-Secret-456'),
        statement: 'SELECT 1',
        paramsJson: '',
        maxRows: 0,
        timeoutMs: 0,
      },
    });
    const r1 = await s.next('result', (x) => x.attemptId === 'att-pw1');
    expect(r1.status).toBe(Result_Status.SUCCEEDED);
    expect(s.logText('att-pw1')).toContain(`connected to postgres at ${new URL(DB_URLS.postgres).host}/test`);
    const r2 = await s.next('result', (x) => x.attemptId === 'att-pw2');
    expect(r2.status).toBe(Result_Status.FAILED);
    expect(r2.error).toMatch(/access denied/i);
    const everything = [
      s.logText('att-pw1'),
      s.logText('att-pw2'),
      JSON.stringify(s.all('result')),
      JSON.stringify(logs),
    ].join('\n');
    expect(everything).toContain('connected to postgres');
    expect(everything).not.toContain('Secret');
  });

  it('keeps retrying when the token is rejected, and says so', async () => {
    gw.refuseWith = { code: GrpcStatus.UNAUTHENTICATED, details: 'token revoked' };
    const a = agent({ reconnect: { initialMs: 20, maxMs: 60 } });
    await until(() => gw.refused >= 3, 3000, 'retries');
    expect(a.connected).toBe(false);
    expect(logs.some((l) => l.level === 'error' && l.msg.includes('token'))).toBe(true);
    gw.refuseWith = null;
    const s = await welcomed(0);
    await a.waitConnected(2000);
    expect(s.closed).toBe(false);
  });

  it('reconnects after Drain with the requested delay', async () => {
    const a = agent();
    const s1 = await welcomed(0);
    await a.waitConnected(2000);
    const t0 = Date.now();
    s1.send({ $case: 'drain', value: { reason: 'rolling restart', reconnectAfterMs: 300 } });
    await s1.waitClosed();
    const s2 = await gw.session(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    await s2.next('hello');
    s2.welcome();
    await a.waitConnected(2000);
  });

  it('stop() kills running tasks and closes the stream', async () => {
    const a = agent();
    const s = await welcomed();
    s.assign('att-stop', { command: `sleep 30 & echo "gc=$!"; wait` });
    await s.next('logChunk', (c) => c.attemptId === 'att-stop');
    const pid = Number(/gc=(\d+)/.exec(s.logText('att-stop'))![1]);
    await a.stop();
    expect(a.connected).toBe(false);
    await until(() => !isAlive(pid), 2000, 'task to die');
    await s.waitClosed();
    // Its result waits in the journal for the next agent process.
    expect(journaled('att-stop')?.status).toBe(Result_Status.FAILED);
  });
});
