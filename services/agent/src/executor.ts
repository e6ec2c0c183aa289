import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { truncateUtf8 } from '@baton/domain';
import { LogChunk_Stream, Result_Status, type Assign, type TaskSpec } from '@baton/proto';
import { childCpu } from './cpu-time.js';
import { safeName } from './safe-name.js';
import {
  DEFAULT_SQL_CONNECT_TIMEOUT_MS,
  SqlTimeoutError,
  connectSql,
  describeSqlUrl,
  isSqlDriver,
  redactSqlSecrets,
  toJsonSafe,
  type SqlConnection,
} from './sql.js';

export const DEFAULT_KILL_GRACE_MS = 5000;
/** Larger outputs are refused: a Result must fit comfortably in one gRPC message (4 MiB default). */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
export const HTTP_BODY_LIMIT = 64 * 1024;
/** Bytes of an HTTP response read at most; more than this is never parsed as JSON. */
const HTTP_READ_LIMIT = MAX_OUTPUT_BYTES;
/** How long to wait for stdout/stderr to close after the group was killed. */
const PIPE_CLOSE_WAIT_MS = 2000;

export interface TaskOutcome {
  status: Result_Status;
  exitCode: number;
  outputJson: string;
  error: string;
  startedAtMs: number;
  finishedAtMs: number;
  /** CPU time (user + system) of the task's processes, for process tasks on Linux. */
  cpuMillis?: number;
}

/** Why a task is being stopped from outside; decides the result's status. */
export type StopKind = 'cancel' | 'reject' | 'shutdown';

export interface RunningTask {
  readonly done: Promise<TaskOutcome>;
  /**
   * cancel / reject: SIGTERM to the group, SIGKILL after the kill grace.
   * shutdown: SIGKILL at once (the agent is going away).
   */
  stop(kind: StopKind, reason: string): void;
}

export interface TaskContext {
  assign: Assign;
  workDir: string;
  baseEnv: NodeJS.ProcessEnv;
  onOutput(stream: LogChunk_Stream, data: Buffer): void;
  now?: () => number;
}

/** Exit code reported when no process exit status exists (spawn failure, HTTP error, ...). */
export const NO_EXIT_CODE = -1;

export function scratchDirOf(workDir: string, attemptId: string): string {
  return join(workDir, 'runs', safeName(attemptId));
}

export function startTask(ctx: TaskContext): RunningTask {
  const spec = ctx.assign.spec ?? emptySpec();
  const type = spec.type.trim().toLowerCase();
  if (type === 'noop' || type === '') {
    // An empty type is treated as noop only when nothing else was set; otherwise it is a spec error.
    if (type === '' && (spec.command !== '' || spec.http || spec.script || spec.sql)) {
      return finished(ctx, Result_Status.FAILED, 'task spec has no type');
    }
    return finished(ctx, Result_Status.SUCCEEDED, '', 0);
  }
  if (type === 'shell') return startShell(ctx, spec);
  if (type === 'script') return startScript(ctx, spec);
  if (type === 'http') return startHttp(ctx, spec);
  if (type === 'sql') return startSql(ctx, spec);
  return finished(
    ctx,
    Result_Status.FAILED,
    `unknown task type '${spec.type}' (expected shell, script, http, sql or noop)`,
  );
}

function emptySpec(): TaskSpec {
  return {
    type: 'noop',
    command: '',
    env: {},
    timeoutMs: 0,
    killGraceMs: 0,
    workingDir: '',
    http: undefined,
    script: undefined,
    sql: undefined,
  };
}

function finished(ctx: TaskContext, status: Result_Status, error: string, exitCode = NO_EXIT_CODE): RunningTask {
  const now = (ctx.now ?? Date.now)();
  return {
    done: Promise.resolve({ status, exitCode, outputJson: '', error, startedAtMs: now, finishedAtMs: now }),
    stop: () => undefined,
  };
}

/**
 * Milliseconds the task may run, from its timeout and the absolute
 * deadline, whichever is sooner; null when neither is set.
 */
function effectiveTimeout(ctx: TaskContext, timeoutMs: number, now: number): number | null {
  let limit: number | null = timeoutMs > 0 ? timeoutMs : null;
  if (ctx.assign.deadlineMs > 0) {
    const left = ctx.assign.deadlineMs - now;
    limit = limit === null ? left : Math.min(limit, left);
  }
  return limit;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

function buildEnv(ctx: TaskContext, spec: TaskSpec, outputPath: string): NodeJS.ProcessEnv {
  const a = ctx.assign;
  const env: NodeJS.ProcessEnv = { ...ctx.baseEnv, ...spec.env };
  // Propagate the W3C trace context the conventional way so instrumented tasks join the trace.
  if (a.traceContext['traceparent']) env['TRACEPARENT'] = a.traceContext['traceparent'];
  if (a.traceContext['tracestate']) env['TRACESTATE'] = a.traceContext['tracestate'];
  env['BATON_RUN_ID'] = a.runId;
  env['BATON_TASK_KEY'] = a.taskKey;
  env['BATON_ATTEMPT_ID'] = a.attemptId;
  env['BATON_ATTEMPT'] = String(a.attemptNumber);
  env['BATON_IDEMPOTENCY_KEY'] = a.idempotencyKey;
  env['BATON_OUTPUT'] = outputPath;
  return env;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole process group, so grandchildren die with the shell.
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone. Anything else (EPERM) cannot be fixed here,
    // and throwing from a timer would take the whole agent down.
  }
}

/** What a process task runs; prepared once the attempt's scratch dir exists. */
interface ProcessLaunch {
  file: string;
  args: string[];
  /** Names it in spawn errors. */
  what: string;
}

function startShell(ctx: TaskContext, spec: TaskSpec): RunningTask {
  return startProcess(ctx, spec, async () => ({ file: '/bin/sh', args: ['-c', spec.command], what: 'the command' }));
}

/** Interpreters of script tasks and the extension of the script file each one gets. */
const SCRIPT_INTERPRETERS: ReadonlyMap<string, string> = new Map([
  ['bash', '.sh'],
  ['sh', '.sh'],
  ['node', '.js'],
  ['python3', '.py'],
]);

function startScript(ctx: TaskContext, spec: TaskSpec): RunningTask {
  const script = spec.script;
  if (!script) return finished(ctx, Result_Status.FAILED, 'script task has no script');
  const interpreter = script.interpreter.trim();
  const ext = SCRIPT_INTERPRETERS.get(interpreter);
  if (ext === undefined) {
    return finished(
      ctx,
      Result_Status.FAILED,
      `unknown script interpreter '${script.interpreter}' (expected ${[...SCRIPT_INTERPRETERS.keys()].join(', ')})`,
    );
  }
  return startProcess(ctx, spec, async (scratch) => {
    const path = join(scratch, `script${ext}`);
    await writeFile(path, script.body, { mode: 0o600 });
    // Looked up on the task's PATH, like any command of a shell task.
    return { file: interpreter, args: [path], what: interpreter };
  });
}

/**
 * Runs a process in its own group with the task environment: logs streamed,
 * timeout and stop as SIGTERM, then SIGKILL after the grace, output read from
 * BATON_OUTPUT. Shell and script tasks differ only in what they launch.
 */
function startProcess(
  ctx: TaskContext,
  spec: TaskSpec,
  prepare: (scratch: string) => Promise<ProcessLaunch>,
): RunningTask {
  const now = ctx.now ?? Date.now;
  const startedAtMs = now();
  const scratch = scratchDirOf(ctx.workDir, ctx.assign.attemptId);
  const outputPath = join(scratch, 'output.json');
  const graceMs = spec.killGraceMs > 0 ? spec.killGraceMs : DEFAULT_KILL_GRACE_MS;

  let pid: number | null = null;
  let stopKind: StopKind | 'timeout' | null = null;
  let stopReason = '';
  let timeoutMs = 0;
  let graceTimer: NodeJS.Timeout | null = null;
  let timeoutTimer: NodeJS.Timeout | null = null;
  let exited = false;

  const terminate = (immediate: boolean): void => {
    if (pid === null || exited) return;
    if (immediate) {
      signalGroup(pid, 'SIGKILL');
      return;
    }
    signalGroup(pid, 'SIGTERM');
    if (!graceTimer) {
      graceTimer = setTimeout(() => {
        if (pid !== null && !exited) signalGroup(pid, 'SIGKILL');
      }, graceMs);
    }
  };

  const stop = (kind: StopKind, reason: string): void => {
    if (stopKind === null) {
      stopKind = kind;
      stopReason = reason;
    }
    terminate(kind === 'shutdown');
  };

  const done = (async (): Promise<TaskOutcome> => {
    const limit = effectiveTimeout(ctx, spec.timeoutMs, startedAtMs);
    if (limit !== null && limit <= 0) {
      return {
        status: Result_Status.TIMED_OUT,
        exitCode: NO_EXIT_CODE,
        outputJson: '',
        error: 'deadline passed before the task started',
        startedAtMs,
        finishedAtMs: now(),
      };
    }
    await mkdir(scratch, { recursive: true });
    // A leftover output file (an earlier run of the same attempt id) must not be mistaken for this run's output.
    await rm(outputPath, { force: true });
    if (stopKind !== null) {
      return {
        status: statusOf(stopKind),
        exitCode: NO_EXIT_CODE,
        outputJson: '',
        error: stoppedError(stopKind, stopReason, 0),
        startedAtMs,
        finishedAtMs: now(),
      };
    }

    let launch: ProcessLaunch;
    try {
      launch = await prepare(scratch);
    } catch (err) {
      return {
        status: Result_Status.FAILED,
        exitCode: NO_EXIT_CODE,
        outputJson: '',
        error: `could not prepare the task: ${(err as Error).message}`,
        startedAtMs,
        finishedAtMs: now(),
      };
    }

    const cwd = spec.workingDir || scratch;
    const child = spawn(launch.file, launch.args, {
      detached: true,
      cwd,
      env: buildEnv(ctx, spec, outputPath),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const spawnError = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (err) => resolve(err));
    });
    if (spawnError) {
      return {
        status: Result_Status.FAILED,
        exitCode: NO_EXIT_CODE,
        outputJson: '',
        error: `could not start ${launch.what} in ${cwd}: ${spawnError.message}`,
        startedAtMs,
        finishedAtMs: now(),
      };
    }
    // Later spawn-level errors (e.g. a failed kill) must not crash the agent as unhandled 'error' events.
    child.on('error', () => undefined);
    pid = child.pid ?? null;
    child.stdout.on('data', (d: Buffer) => ctx.onOutput(LogChunk_Stream.STDOUT, d));
    child.stderr.on('data', (d: Buffer) => ctx.onOutput(LogChunk_Stream.STDERR, d));
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

    if (limit !== null) {
      timeoutMs = limit;
      timeoutTimer = setTimeout(() => {
        if (stopKind === null) {
          stopKind = 'timeout';
          stopReason = '';
        }
        terminate(false);
      }, limit);
    }
    // A stop requested while spawning takes effect now that there is a pid.
    if (stopKind !== null) terminate(stopKind === 'shutdown');

    let cpuMillis = 0;
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once('exit', (c, s) => {
        // Read as soon as the exit is reported: the child was just reaped, so its CPU time is now in ours.
        cpuMillis = childCpu.take();
        resolve([c, s]);
      });
    });
    exited = true;
    if (timeoutTimer) clearTimeout(timeoutTimer);
    if (graceTimer) clearTimeout(graceTimer);
    // The task is over when its shell exits: whatever it left behind in its group goes too,
    // otherwise background children would outlive the attempt (and hold the pipes open).
    if (pid !== null) signalGroup(pid, 'SIGKILL');
    await Promise.race([closed, new Promise((r) => setTimeout(r, PIPE_CLOSE_WAIT_MS))]);
    child.stdout.destroy();
    child.stderr.destroy();
    const finishedAtMs = now();

    const exitCode = signal ? 128 + (osConstants.signals[signal] ?? 0) : (code ?? NO_EXIT_CODE);
    const errors: string[] = [];
    let status: Result_Status;
    if (stopKind !== null) {
      status = statusOf(stopKind);
      errors.push(stoppedError(stopKind, stopReason, timeoutMs));
    } else if (code === 0) {
      status = Result_Status.SUCCEEDED;
    } else {
      status = Result_Status.FAILED;
      errors.push(signal ? `killed by signal ${signal}` : `exit code ${exitCode}`);
    }
    const output = await readOutput(outputPath);
    if (output.error) errors.push(output.error);
    return {
      status,
      exitCode,
      outputJson: output.json,
      error: errors.join('; '),
      startedAtMs,
      finishedAtMs,
      cpuMillis,
    };
  })();

  return { done, stop };
}

function statusOf(kind: StopKind | 'timeout'): Result_Status {
  switch (kind) {
    case 'timeout':
      return Result_Status.TIMED_OUT;
    case 'cancel':
    case 'reject':
      return Result_Status.CANCELLED;
    case 'shutdown':
      return Result_Status.FAILED;
  }
}

function stoppedError(kind: StopKind | 'timeout', reason: string, timeoutMs: number): string {
  switch (kind) {
    case 'timeout':
      return `timed out after ${formatSeconds(timeoutMs)}`;
    case 'cancel':
      return reason ? `cancelled: ${reason}` : 'cancelled';
    case 'reject':
      return 'stopped: the server no longer assigns this attempt to this agent';
    case 'shutdown':
      return 'killed: the agent shut down while the task was running';
  }
}

async function readOutput(path: string): Promise<{ json: string; error: string }> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_OUTPUT_BYTES) {
      return { json: '', error: `output file is ${buf.length} bytes; the limit is ${MAX_OUTPUT_BYTES}` };
    }
    text = buf.toString('utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { json: '', error: '' };
    return { json: '', error: `could not read the output file: ${(err as Error).message}` };
  }
  if (text === '') return { json: '', error: '' };
  try {
    JSON.parse(text);
    return { json: text, error: '' };
  } catch (err) {
    return { json: '', error: `output file is not valid JSON: ${(err as Error).message}` };
  }
}

function startHttp(ctx: TaskContext, spec: TaskSpec): RunningTask {
  const now = ctx.now ?? Date.now;
  const startedAtMs = now();
  const http = spec.http;
  const controller = new AbortController();
  let stopKind: StopKind | 'timeout' | null = null;
  let stopReason = '';
  let timeoutMs = 0;

  const stop = (kind: StopKind, reason: string): void => {
    if (stopKind !== null) return;
    stopKind = kind;
    stopReason = reason;
    controller.abort();
  };

  const done = (async (): Promise<TaskOutcome> => {
    const fail = (status: Result_Status, error: string): TaskOutcome => ({
      status,
      exitCode: NO_EXIT_CODE,
      outputJson: '',
      error,
      startedAtMs,
      finishedAtMs: now(),
    });
    if (!http || http.url === '') return fail(Result_Status.FAILED, 'http task has no url');
    const limit = effectiveTimeout(ctx, spec.timeoutMs, startedAtMs);
    if (limit !== null && limit <= 0) return fail(Result_Status.TIMED_OUT, 'deadline passed before the task started');
    let timer: NodeJS.Timeout | null = null;
    if (limit !== null) {
      timeoutMs = limit;
      timer = setTimeout(() => {
        if (stopKind === null) stopKind = 'timeout';
        controller.abort();
      }, limit);
    }
    try {
      const method = (http.method || 'GET').toUpperCase();
      const res = await fetch(http.url, {
        method,
        headers: http.headers,
        body: http.body !== '' && method !== 'GET' && method !== 'HEAD' ? http.body : undefined,
        signal: controller.signal,
      });
      ctx.onOutput(
        LogChunk_Stream.STDOUT,
        Buffer.from(`${method} ${http.url} -> HTTP ${res.status} ${res.statusText}\n`),
      );
      const body = await readBody(res, HTTP_READ_LIMIT);
      const expected =
        http.expectStatus.length > 0 ? http.expectStatus.includes(res.status) : res.status >= 200 && res.status < 300;
      const outputJson = httpOutput(res.status, body.text, body.truncated);
      return {
        status: expected ? Result_Status.SUCCEEDED : Result_Status.FAILED,
        exitCode: expected ? 0 : 1,
        outputJson,
        error: expected ? '' : `unexpected HTTP status ${res.status}`,
        startedAtMs,
        finishedAtMs: now(),
      };
    } catch (err) {
      if (stopKind !== null) return fail(statusOf(stopKind), stoppedError(stopKind, stopReason, timeoutMs));
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      return fail(Result_Status.FAILED, `http request failed: ${(err as Error).message}${cause ? ` (${cause})` : ''}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
  })();

  return { done, stop };
}

async function readBody(res: Response, limit: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  // @types/node types fetch bodies as ReadableStream<any>; undici yields Uint8Array chunks.
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.length;
    if (size > limit) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  return { text: Buffer.concat(parts).toString('utf8'), truncated };
}

function httpOutput(status: number, text: string, truncated: boolean): string {
  const trimmed = text.trim();
  if (!truncated && trimmed !== '') {
    try {
      JSON.parse(trimmed);
      return trimmed;
    } catch {
      // Not JSON: wrapped below.
    }
  }
  const body = Buffer.byteLength(text) > HTTP_BODY_LIMIT ? truncateUtf8(text, HTTP_BODY_LIMIT) : text;
  return JSON.stringify({ status, body });
}

export const DEFAULT_SQL_MAX_ROWS = 100;

function startSql(ctx: TaskContext, spec: TaskSpec): RunningTask {
  const now = ctx.now ?? Date.now;
  const startedAtMs = now();
  const sql = spec.sql;
  let stopKind: StopKind | 'timeout' | null = null;
  let stopReason = '';
  let timeoutMs = 0;
  let onStop: (() => void) | null = null;
  const stopped = new Promise<never>((_, reject) => {
    onStop = () => reject(new Error('stopped'));
  });
  // Only ever awaited through a race; this keeps an unraced rejection from being reported.
  stopped.catch(() => undefined);
  const untilStopped = <T>(p: Promise<T>): Promise<T> => Promise.race([p, stopped]);

  const stop = (kind: StopKind, reason: string): void => {
    if (stopKind !== null) return;
    stopKind = kind;
    stopReason = reason;
    onStop?.();
  };
  const log = (stream: LogChunk_Stream, line: string): void => ctx.onOutput(stream, Buffer.from(`${line}\n`));

  const done = (async (): Promise<TaskOutcome> => {
    const fail = (status: Result_Status, error: string, exitCode = NO_EXIT_CODE): TaskOutcome => ({
      status,
      exitCode,
      outputJson: '',
      error,
      startedAtMs,
      finishedAtMs: now(),
    });
    if (!sql) return fail(Result_Status.FAILED, 'sql task has no sql spec');
    const driver = sql.driver.trim().toLowerCase();
    if (!isSqlDriver(driver)) {
      return fail(Result_Status.FAILED, `unknown sql driver '${sql.driver}' (expected mysql or postgres)`);
    }
    if (sql.url === '') return fail(Result_Status.FAILED, 'sql task has no url');
    if (sql.statement.trim() === '') return fail(Result_Status.FAILED, 'sql task has no statement');
    let params: unknown;
    try {
      params = JSON.parse(sql.paramsJson || '[]');
    } catch (err) {
      return fail(Result_Status.FAILED, `paramsJson is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(params)) return fail(Result_Status.FAILED, 'paramsJson must be a JSON array');
    const maxRows = sql.maxRows > 0 ? sql.maxRows : DEFAULT_SQL_MAX_ROWS;

    // The statement's own timeout, bounded by the task's timeout and the deadline.
    const ownLimit = [sql.timeoutMs, spec.timeoutMs].filter((t) => t > 0);
    const limit = effectiveTimeout(ctx, ownLimit.length > 0 ? Math.min(...ownLimit) : 0, startedAtMs);
    if (limit !== null && limit <= 0) return fail(Result_Status.TIMED_OUT, 'deadline passed before the task started');
    let timer: NodeJS.Timeout | null = null;
    if (limit !== null) {
      timeoutMs = limit;
      timer = setTimeout(() => {
        if (stopKind === null) stopKind = 'timeout';
        onStop?.();
      }, limit);
    }

    const connecting = connectSql(driver, sql.url, {
      // Past the limit the timer above has already ended the task; this only bounds a task without one.
      connectTimeoutMs: limit !== null ? limit + 1000 : DEFAULT_SQL_CONNECT_TIMEOUT_MS,
    });
    let conn: SqlConnection | null = null;
    let inQuery = false;
    try {
      conn = await untilStopped(connecting);
      log(LogChunk_Stream.STDOUT, `connected to ${driver} at ${describeSqlUrl(sql.url)}`);
      log(LogChunk_Stream.STDOUT, sql.statement.trim());
      inQuery = true;
      const left = limit !== null ? Math.max(1, startedAtMs + limit - now()) : null;
      const res = await untilStopped(conn.query(sql.statement, params, left));
      inQuery = false;
      log(
        LogChunk_Stream.STDOUT,
        res.affectedRows !== null && res.rowCount === 0 ? `${res.affectedRows} rows affected` : `${res.rowCount} rows`,
      );
      const output = sqlOutput(driver, res.rows, res.rowCount, res.affectedRows, maxRows);
      if (output.keptRows < Math.min(res.rowCount, maxRows)) {
        log(
          LogChunk_Stream.STDERR,
          `output limited to ${output.keptRows} rows to stay within ${MAX_OUTPUT_BYTES} bytes`,
        );
      }
      return {
        status: Result_Status.SUCCEEDED,
        exitCode: 0,
        outputJson: output.json,
        error: '',
        startedAtMs,
        finishedAtMs: now(),
      };
    } catch (err) {
      if (stopKind === null && err instanceof SqlTimeoutError) stopKind = 'timeout';
      if (stopKind !== null) {
        if (conn === null) {
          // Still connecting: drop the connection whenever it arrives.
          void connecting.then(
            (c) => c.destroy(),
            () => undefined,
          );
        } else if (inQuery) {
          // Closing the socket does not stop a statement on the server; ask it to.
          await conn.cancelStatement();
        }
        conn?.destroy();
        conn = null;
        return fail(statusOf(stopKind), stoppedError(stopKind, stopReason, timeoutMs));
      }
      const e = err as { message?: string; code?: string };
      const message = redactSqlSecrets(e.message || String(err), sql.url);
      log(LogChunk_Stream.STDERR, `error: ${message}${e.code ? ` (${e.code})` : ''}`);
      return fail(Result_Status.FAILED, message, 1);
    } finally {
      if (timer) clearTimeout(timer);
      await conn?.close();
    }
  })();

  return { done, stop };
}

function sqlOutput(
  driver: string,
  rows: Array<Record<string, unknown>>,
  rowCount: number,
  affectedRows: number | null,
  maxRows: number,
): { json: string; keptRows: number } {
  let kept = rows.slice(0, maxRows).map(toJsonSafe);
  const truncated = rows.length > maxRows;
  for (;;) {
    const json = JSON.stringify({
      driver,
      rowCount,
      affectedRows,
      rows: kept,
      truncated: truncated || kept.length < Math.min(rows.length, maxRows),
    });
    // Huge rows: halve until the result fits in a message.
    if (Buffer.byteLength(json) <= MAX_OUTPUT_BYTES || kept.length === 0) return { json, keptRows: kept.length };
    kept = kept.slice(0, Math.floor(kept.length / 2));
  }
}
