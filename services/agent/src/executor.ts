import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LogChunk_Stream, Result_Status, type Assign, type TaskSpec } from '@baton/proto';
import { safeName } from './safe-name.js';

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
    if (type === '' && (spec.command !== '' || spec.http)) {
      return finished(ctx, Result_Status.FAILED, 'task spec has no type');
    }
    return finished(ctx, Result_Status.SUCCEEDED, '', 0);
  }
  if (type === 'shell') return startShell(ctx, spec);
  if (type === 'http') return startHttp(ctx, spec);
  return finished(ctx, Result_Status.FAILED, `unknown task type '${spec.type}' (expected shell, http or noop)`);
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
 * Milliseconds the task may run, from spec.timeoutMs and the absolute
 * deadline, whichever is sooner; null when neither is set.
 */
function effectiveTimeout(ctx: TaskContext, spec: TaskSpec, now: number): number | null {
  let limit: number | null = spec.timeoutMs > 0 ? spec.timeoutMs : null;
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

function startShell(ctx: TaskContext, spec: TaskSpec): RunningTask {
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
    const limit = effectiveTimeout(ctx, spec, startedAtMs);
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

    const cwd = spec.workingDir || scratch;
    const child = spawn('/bin/sh', ['-c', spec.command], {
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
        error: `could not start the command in ${cwd}: ${spawnError.message}`,
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

    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once('exit', (c, s) => resolve([c, s]));
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
    return { status, exitCode, outputJson: output.json, error: errors.join('; '), startedAtMs, finishedAtMs };
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
    const limit = effectiveTimeout(ctx, spec, startedAtMs);
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

function truncateUtf8(text: string, maxBytes: number): string {
  // toString drops a split multi-byte sequence as U+FFFD; strip it so the body stays clean.
  return Buffer.from(text)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
