import {
  type Ack,
  type FileEvent,
  type Heartbeat,
  type Hello,
  type LogChunk,
  LogChunk_Stream,
  type Result,
  Result_Status,
} from '@baton/proto';

/**
 * Agents are untrusted input: every message is checked on its own before it
 * reaches the engine, and a bad one is answered to its sender with the field
 * it got wrong. ts-proto decodes whatever the wire holds (an enum value of 99,
 * a negative int64), so nothing here trusts the generated types.
 */
export type Verdict = { ok: true } | { ok: false; field: string; reason: string };

const OK: Verdict = { ok: true };
const bad = (field: string, reason: string): Verdict => ({ ok: false, field, reason });

export const LIMITS = {
  maxSlots: 10_000,
  maxAttemptIds: 10_000,
  maxLabels: 64,
  maxLabelValue: 256,
  maxVersion: 100,
  maxCpuMillis: 100_000_000,
  maxMemoryMb: 100_000_000,
  /** A task's output (BATON_OUTPUT) travels in one message; bigger outputs belong in a file or a store. */
  maxOutputBytes: 1024 * 1024,
  /** A longer error message is cut (it is a message, not data). */
  maxErrorBytes: 64 * 1024,
  maxLogChunkBytes: 4 * 1024 * 1024,
  maxPath: 4096,
  /** The most cores a task's processes are believed to keep busy (bounds `Result.cpu_millis`). */
  maxCpuCores: 1024,
  /** Agent clocks may drift; a timestamp further ahead than this is not a clock, it is garbage. */
  maxClockAheadMs: 24 * 3600_000,
} as const;

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const AGENT_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const LABEL_KEY = /^[A-Za-z0-9_./-]{1,63}$/;

function isId(v: unknown): v is string {
  return typeof v === 'string' && ID.test(v);
}

function intIn(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function attemptIds(field: string, ids: unknown): Verdict {
  if (!Array.isArray(ids)) return bad(field, 'must be a list of attempt ids');
  if (ids.length > LIMITS.maxAttemptIds) return bad(field, `names more than ${LIMITS.maxAttemptIds} attempts`);
  for (let i = 0; i < ids.length; i++) {
    if (!isId(ids[i])) return bad(`${field}[${i}]`, 'is not an attempt id');
  }
  return OK;
}

function instant(field: string, v: unknown, now: number, required: boolean): Verdict {
  if (v === 0 && !required) return OK;
  if (!intIn(v, 1, now + LIMITS.maxClockAheadMs)) {
    return bad(field, `${String(v)} is not an epoch-millisecond time (0 < t <= now + 1 day)`);
  }
  return OK;
}

export function checkHello(h: Hello): Verdict {
  if (typeof h.token !== 'string' || h.token.length === 0) return bad('hello.token', 'is required');
  if (!AGENT_NAME.test(h.name)) return bad('hello.name', 'must be 1-100 letters, digits, _ . or -');
  if (!intIn(h.slots, 1, LIMITS.maxSlots)) return bad('hello.slots', `${h.slots} is not within 1..${LIMITS.maxSlots}`);
  if (!intIn(h.cpuMillis, 0, LIMITS.maxCpuMillis)) return bad('hello.cpu_millis', `${h.cpuMillis} is out of range`);
  if (!intIn(h.memoryMb, 0, LIMITS.maxMemoryMb)) return bad('hello.memory_mb', `${h.memoryMb} is out of range`);
  if (h.version.length > LIMITS.maxVersion) return bad('hello.version', `is longer than ${LIMITS.maxVersion}`);
  const labels = Object.entries(h.labels ?? {});
  if (labels.length > LIMITS.maxLabels) return bad('hello.labels', `has more than ${LIMITS.maxLabels} entries`);
  for (const [k, v] of labels) {
    if (!LABEL_KEY.test(k)) return bad(`hello.labels.${k.slice(0, 63)}`, 'is not a label name');
    if (v.length > LIMITS.maxLabelValue) return bad(`hello.labels.${k}`, `is longer than ${LIMITS.maxLabelValue}`);
  }
  return attemptIds('hello.running_attempt_ids', h.runningAttemptIds);
}

export function checkAck(a: Ack): Verdict {
  return isId(a.attemptId) ? OK : bad('ack.attempt_id', 'is not an attempt id');
}

export function checkHeartbeat(h: Heartbeat): Verdict {
  const ids = attemptIds('heartbeat.running_attempt_ids', h.runningAttemptIds);
  if (!ids.ok) return ids;
  if (!intIn(h.freeSlots, 0, LIMITS.maxSlots)) return bad('heartbeat.free_slots', `${h.freeSlots} is out of range`);
  if (typeof h.load !== 'number' || !Number.isFinite(h.load) || h.load < 0 || h.load > 1e6) {
    return bad('heartbeat.load', `${h.load} is not a load average`);
  }
  return OK;
}

const STREAMS: ReadonlySet<number> = new Set([
  LogChunk_Stream.STREAM_UNSPECIFIED,
  LogChunk_Stream.STDOUT,
  LogChunk_Stream.STDERR,
]);

export function checkLogChunk(c: LogChunk): Verdict {
  if (!isId(c.attemptId)) return bad('log_chunk.attempt_id', 'is not an attempt id');
  if (!intIn(c.seq, 0, Number.MAX_SAFE_INTEGER)) return bad('log_chunk.seq', `${c.seq} is not a sequence number`);
  if (!STREAMS.has(c.stream)) {
    return bad('log_chunk.stream', `${c.stream} is not a LogChunk.Stream value`);
  }
  if (c.data.length > LIMITS.maxLogChunkBytes) return bad('log_chunk.data', 'is larger than 4 MiB');
  return OK;
}

const STATUSES: ReadonlySet<number> = new Set([
  Result_Status.SUCCEEDED,
  Result_Status.FAILED,
  Result_Status.TIMED_OUT,
  Result_Status.CANCELLED,
]);

export function checkResult(r: Result, now: number): Verdict {
  if (!isId(r.attemptId)) return bad('result.attempt_id', 'is not an attempt id');
  if (!STATUSES.has(r.status)) {
    return bad('result.status', `${r.status} is not a Result.Status value (SUCCEEDED, FAILED, TIMED_OUT, CANCELLED)`);
  }
  if (!intIn(r.exitCode, -(2 ** 31), 2 ** 31 - 1)) return bad('result.exit_code', `${r.exitCode} is not an int32`);
  if (Buffer.byteLength(r.outputJson) > LIMITS.maxOutputBytes) return bad('result.output_json', 'is larger than 1 MiB');
  if (r.outputJson !== '') {
    // Any JSON value: an HTTP task's output may be the array or number its endpoint answered.
    try {
      JSON.parse(r.outputJson);
    } catch {
      return bad('result.output_json', 'is not JSON');
    }
  }
  const started = instant('result.started_at_ms', r.startedAtMs, now, false);
  if (!started.ok) return started;
  const finished = instant('result.finished_at_ms', r.finishedAtMs, now, false);
  if (!finished.ok) return finished;
  if (r.startedAtMs > 0 && r.finishedAtMs > 0 && r.finishedAtMs < r.startedAtMs) {
    return bad('result.finished_at_ms', 'is before started_at_ms');
  }
  // CPU time feeds the tenant's usage (chargeback): no more than LIMITS.maxCpuCores busy over the task's wall time.
  if (!intIn(r.cpuMillis, 0, Number.MAX_SAFE_INTEGER))
    return bad('result.cpu_millis', `${r.cpuMillis} is not a duration`);
  if (r.cpuMillis > 0) {
    const wall = r.startedAtMs > 0 && r.finishedAtMs > 0 ? r.finishedAtMs - r.startedAtMs : null;
    if (wall === null) return bad('result.cpu_millis', 'needs started_at_ms and finished_at_ms');
    if (r.cpuMillis > (wall + 1_000) * LIMITS.maxCpuCores) {
      return bad('result.cpu_millis', `${r.cpuMillis} ms is more than ${LIMITS.maxCpuCores} cores over ${wall} ms`);
    }
  }
  return OK;
}

export function checkFileEvent(e: FileEvent, now: number): Verdict {
  if (!isId(e.triggerId)) return bad('file_event.trigger_id', 'is not a trigger id');
  if (typeof e.path !== 'string' || e.path.length === 0 || e.path.length > LIMITS.maxPath) {
    return bad('file_event.path', `must be 1..${LIMITS.maxPath} characters`);
  }
  if (!intIn(e.size, 0, Number.MAX_SAFE_INTEGER)) return bad('file_event.size', `${e.size} is not a size`);
  return instant('file_event.mtime_ms', e.mtimeMs, now, false);
}

export function describe(v: Verdict & { ok: false }): string {
  return `${v.field}: ${v.reason}`;
}
