import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  credentials,
  status as GrpcStatus,
  type ChannelCredentials,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AgentServiceClient,
  Result_Status,
  type AgentMessage,
  type Assign,
  type Cancel,
  type Drain,
  type LogChunk,
  type LogChunk_Stream,
  type Result,
  type ResultAck,
  ResultAck_Rejection,
  type ServerMessage,
  type Welcome,
} from '@baton/proto';
import { maskJson, maskText } from '@baton/domain';
import { startExecutionSpan } from '@baton/telemetry';
import { Backoff } from './backoff.js';
import { FileWatcher } from './file-watcher.js';
import { NO_EXIT_CODE, startTask, type RunningTask, type TaskOutcome } from './executor.js';
import { ResultJournal } from './journal.js';
import { LogBatcher } from './log-batcher.js';
import { StreamMasker } from './masker.js';
import { createConsoleLogger } from './logger.js';
import { firstServerIndex } from './servers.js';
import type { AgentHandle, AgentLogger, AgentOptions } from './types.js';

/** Log bytes kept per attempt while disconnected; the oldest chunks go first past this. */
export const OFFLINE_LOG_LIMIT = 1024 * 1024;
/** Log bytes waiting for 'drain' on a connected stream; newer chunks are dropped past this. */
const QUEUED_LOG_LIMIT = 8 * 1024 * 1024;
/** A stream that gets no Welcome in this time is abandoned and retried. */
const WELCOME_TIMEOUT_MS = 30_000;
const DEFAULT_HEARTBEAT_MS = 10_000;
/** How long stop()/Drain wait for the server to end the stream before cancelling it. */
const CLOSE_GRACE_MS = 1000;
/** Acked attempt ids remembered so a late duplicate Assign is not run twice. */
const RECENT_DONE_LIMIT = 10_000;

type Call = ClientDuplexStream<AgentMessage, ServerMessage>;

interface AttemptState {
  readonly id: string;
  running: boolean;
  /** The server disowned it in Welcome: stopped, and its result is never sent. */
  rejected: boolean;
  task: RunningTask | null;
  batcher: LogBatcher;
  /** Masks the task's secret values in each stream before the batcher sends it. */
  maskers: Map<LogChunk_Stream, StreamMasker>;
  /** The secret values to mask in the result. */
  secretValues: readonly string[];
  nextSeq: number;
  /** Chunks produced while no session was up, in seq order. */
  offline: LogChunk[];
  offlineBytes: number;
  droppedBytes: number;
  finished: Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export function startAgent(options: AgentOptions): AgentHandle {
  const agent = new Agent(options);
  agent.start();
  return agent;
}

class Agent implements AgentHandle {
  private readonly log: AgentLogger;
  private readonly journal: ResultJournal;
  private readonly backoff: Backoff;
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly creds: ChannelCredentials;
  private readonly reconnectInitialMs: number;
  private readonly reconnectMaxMs: number;

  private client: AgentServiceClient | null = null;
  private call: Call | null = null;
  private welcomed = false;
  private session: string | null = null;
  /** Server clock minus ours, learned from Welcome: offers' ACK deadlines are on the server's clock. */
  private clockOffsetMs = 0;
  private stopped = false;
  private stopPromise: Promise<void> | null = null;
  /** Failed connection attempts since the last Welcome. */
  private failStreak = 0;

  /** write() said no: messages wait here for 'drain', in order. */
  private blocked = false;
  private outQueue: AgentMessage[] = [];
  private queuedLogBytes = 0;
  private queueDropWarned = false;

  private heartbeatTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** File triggers' folders, as the server lists them after each Welcome. */
  private readonly files: FileWatcher;
  /**
   * `server` may list several scheduler replicas (`a:7070,b:7070`): the agent starts at the one its
   * name hashes to (`firstServerIndex`) and a broken stream moves to the next.
   */
  private readonly servers: string[];
  private serverIndex = 0;
  private welcomeTimer: NodeJS.Timeout | null = null;

  private readonly attempts = new Map<string, AttemptState>();
  /** Results journaled but not yet ResultAck'ed, re-sent after every Welcome. */
  private readonly unacked = new Map<string, Result>();
  private readonly recentDone = new Set<string>();
  private waiters: Waiter[] = [];

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.logger ?? createConsoleLogger();
    this.journal = new ResultJournal(join(opts.workDir, 'journal'), opts.fsyncJournal ?? false);
    this.reconnectInitialMs = Math.max(1, opts.reconnect?.initialMs ?? 200);
    this.reconnectMaxMs = Math.max(this.reconnectInitialMs, opts.reconnect?.maxMs ?? 10_000);
    this.backoff = new Backoff(this.reconnectInitialMs, this.reconnectMaxMs);
    this.files = new FileWatcher((e) => {
      if (this.welcomed) this.write({ msg: { $case: 'fileEvent', value: e } });
    }, this.log);
    this.servers = opts.server
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    this.serverIndex = firstServerIndex(opts.name, this.servers.length);
    this.baseEnv = opts.baseEnv ?? process.env;
    const tls = opts.tls;
    this.creds = tls
      ? credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null)
      : credentials.createInsecure();
  }

  get connected(): boolean {
    return this.welcomed;
  }

  get sessionId(): string | null {
    return this.session;
  }

  start(): void {
    // Results of an earlier agent process are delivered after the first Welcome.
    for (const result of this.journal.loadSync((file, err) =>
      this.log.warn('skipping unreadable journal file', { file, error: String(err) }),
    )) {
      this.unacked.set(result.attemptId, result);
    }
    if (this.unacked.size > 0) this.log.info('results waiting in the journal', { count: this.unacked.size });
    this.openStream();
  }

  waitConnected(timeoutMs = 30_000): Promise<void> {
    if (this.welcomed) return Promise.resolve();
    if (this.stopped) return Promise.reject(new Error('agent stopped'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`agent not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    this.stopped = true;
    this.clearTimer('reconnectTimer');
    this.files.stop();
    this.stopPromise = (async () => {
      for (const st of this.attempts.values()) {
        if (st.running) st.task?.stop('shutdown', 'agent stopping');
      }
      // Wait until every killed task has its result journaled (and sent, if a session is up).
      await Promise.all([...this.attempts.values()].map((st) => st.finished));
      const call = this.call;
      this.detach();
      if (call) await closeCall(call, CLOSE_GRACE_MS);
      this.client?.close();
      this.client = null;
      await this.journal.close().catch(() => undefined);
      for (const w of this.waiters.splice(0)) w.reject(new Error('agent stopped'));
      this.log.info('agent stopped');
    })();
    return this.stopPromise;
  }

  // ------------------------------------------------------------------ stream

  private openStream(): void {
    this.reconnectTimer = null;
    if (this.stopped) return;
    if (!this.client) {
      this.client = new AgentServiceClient(this.servers[this.serverIndex] ?? this.opts.server, this.creds, {
        // See STACK.md: the default 1 MiB retry buffer makes early writes slow and hides backpressure.
        'grpc.per_rpc_retry_buffer_size': 65536,
        'grpc.keepalive_time_ms': 10000,
        'grpc.keepalive_timeout_ms': 5000,
        // Without these the channel's own reconnect backoff (1 s growing to 120 s) would fail our
        // calls fast with UNAVAILABLE long after the server is back, overriding reconnect.maxMs.
        'grpc.initial_reconnect_backoff_ms': this.reconnectInitialMs,
        'grpc.max_reconnect_backoff_ms': this.reconnectMaxMs,
        // A gateway certificate issued to another name than the address dialled (--tls-server-name).
        ...(this.opts.tls?.serverName
          ? {
              'grpc.ssl_target_name_override': this.opts.tls.serverName,
              'grpc.default_authority': this.opts.tls.serverName,
            }
          : {}),
      });
    }
    const call = this.client.connect();
    this.call = call;
    this.welcomed = false;
    this.blocked = false;
    this.outQueue = [];
    this.queuedLogBytes = 0;
    call.on('data', (msg: ServerMessage) => this.onMessage(call, msg));
    call.on('error', (err: ServiceError) =>
      this.onClosed(call, err.code ?? GrpcStatus.UNKNOWN, err.details || err.message),
    );
    call.on('end', () => this.onClosed(call, GrpcStatus.OK, 'stream ended by the server'));
    this.welcomeTimer = setTimeout(() => {
      if (call !== this.call || this.welcomed) return;
      this.onClosed(call, GrpcStatus.DEADLINE_EXCEEDED, `no Welcome within ${WELCOME_TIMEOUT_MS} ms`);
    }, WELCOME_TIMEOUT_MS);
    this.log.debug('connecting', { server: this.servers[this.serverIndex] ?? this.opts.server });
    this.write({
      msg: {
        $case: 'hello',
        value: {
          token: this.opts.token,
          name: this.opts.name,
          labels: this.opts.labels,
          slots: this.opts.slots,
          cpuMillis: this.opts.cpuMillis ?? availableParallelism() * 1000,
          memoryMb: this.opts.memoryMb ?? Math.floor(totalmem() / (1024 * 1024)),
          version: this.opts.version ?? '',
          runningAttemptIds: this.runningIds(),
        },
      },
    });
  }

  private onClosed(call: Call, code: GrpcStatus, details: string): void {
    if (call !== this.call) return;
    const wasWelcomed = this.welcomed;
    this.detach();
    // Close our half and free the call; both are no-ops if the call already has a status.
    try {
      call.end();
    } catch {
      // Ending an errored stream may throw; the call is finished anyway.
    }
    call.cancel();
    if (this.stopped) return;
    let delay: number;
    if (code === GrpcStatus.UNAUTHENTICATED || code === GrpcStatus.PERMISSION_DENIED) {
      delay = this.backoff.max();
      this.log.error(
        'the server refused the agent (its token or client certificate); retrying at the maximum backoff',
        {
          code: GrpcStatus[code],
          details,
          retryInMs: delay,
        },
      );
    } else {
      delay = this.backoff.next();
      const fields = { code: GrpcStatus[code] ?? code, details, retryInMs: delay };
      // Say it once per outage at warn level; every further retry only at debug.
      if (wasWelcomed) this.log.warn('disconnected from the server', fields);
      else if (this.failStreak === 0) this.log.warn('cannot connect to the server; retrying', fields);
      else this.log.debug('connection attempt failed', fields);
      this.failStreak += 1;
      if (this.servers.length > 1) {
        // Fail over: the next replica in the list, on a fresh channel.
        this.client?.close();
        this.client = null;
        this.serverIndex = (this.serverIndex + 1) % this.servers.length;
        // Right after losing a working replica, try the next one at once; while all are down, back off.
        if (wasWelcomed) delay = Math.min(delay, this.reconnectInitialMs);
      }
    }
    this.scheduleConnect(delay);
  }

  private scheduleConnect(delayMs: number): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => this.openStream(), delayMs);
  }

  /** Forgets the current stream. Log chunks not yet written go back to their attempts for the next session. */
  private detach(): void {
    this.call = null;
    this.welcomed = false;
    this.clearTimer('heartbeatTimer');
    this.clearTimer('welcomeTimer');
    const queued = this.outQueue;
    this.outQueue = [];
    this.blocked = false;
    this.queuedLogBytes = 0;
    const back = new Map<string, LogChunk[]>();
    for (const msg of queued) {
      // Results need no rescue: they stay in `unacked` and are re-sent after the next Welcome.
      if (msg.msg?.$case !== 'logChunk') continue;
      const chunk = msg.msg.value;
      const list = back.get(chunk.attemptId) ?? [];
      list.push(chunk);
      back.set(chunk.attemptId, list);
    }
    for (const [id, chunks] of back) {
      const st = this.attempts.get(id);
      if (st) this.bufferOffline(st, chunks, true);
    }
  }

  private clearTimer(name: 'heartbeatTimer' | 'reconnectTimer' | 'welcomeTimer'): void {
    const t = this[name];
    if (t) {
      clearTimeout(t);
      this[name] = null;
    }
  }

  private write(msg: AgentMessage): void {
    const call = this.call;
    if (!call) return;
    if (this.blocked) {
      this.outQueue.push(msg);
      if (msg.msg?.$case === 'logChunk') this.queuedLogBytes += msg.msg.value.data.length;
      return;
    }
    let ok: boolean;
    try {
      ok = call.write(msg);
    } catch (err) {
      // The stream is going away; its 'error'/'end' handler takes care of reconnecting.
      this.log.debug('write failed', { error: String(err) });
      return;
    }
    if (!ok) {
      this.blocked = true;
      this.log.debug('stream write buffer full; queueing until drain');
      call.once('drain', () => this.onDrain(call));
    }
  }

  private onDrain(call: Call): void {
    if (call !== this.call) return;
    this.blocked = false;
    while (this.outQueue.length > 0 && !this.blocked && this.call === call) {
      const msg = this.outQueue.shift() as AgentMessage;
      if (msg.msg?.$case === 'logChunk') this.queuedLogBytes -= msg.msg.value.data.length;
      this.write(msg);
    }
  }

  // ------------------------------------------------------------------ server messages

  private onMessage(call: Call, msg: ServerMessage): void {
    if (call !== this.call || !msg.msg) return;
    switch (msg.msg.$case) {
      case 'welcome':
        this.onWelcome(msg.msg.value);
        break;
      case 'assign':
        this.onAssign(msg.msg.value);
        break;
      case 'cancel':
        this.onCancel(msg.msg.value);
        break;
      case 'resultAck':
        this.onResultAck(msg.msg.value);
        break;
      case 'drain':
        this.onDrainRequest(call, msg.msg.value);
        break;
      case 'watch':
        this.files.set(msg.msg.value.watches);
        break;
      default: {
        const never: never = msg.msg;
        return never;
      }
    }
  }

  private onWelcome(w: Welcome): void {
    this.welcomed = true;
    this.session = w.sessionId;
    this.clockOffsetMs = w.serverTimeMs > 0 ? w.serverTimeMs - Date.now() : 0;
    this.backoff.reset();
    this.failStreak = 0;
    this.clearTimer('welcomeTimer');
    this.clearTimer('heartbeatTimer');
    const every = w.heartbeatIntervalMs > 0 ? w.heartbeatIntervalMs : DEFAULT_HEARTBEAT_MS;
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), every);
    this.log.info('connected', {
      sessionId: w.sessionId,
      agentId: w.agentId,
      heartbeatIntervalMs: every,
      leaseTtlMs: w.leaseTtlMs,
    });

    for (const id of w.rejectedAttemptIds) {
      const st = this.attempts.get(id);
      if (!st || !st.running) continue;
      this.log.warn('server rejected a running attempt; stopping it', { attemptId: id });
      st.rejected = true;
      st.offline = [];
      st.offlineBytes = 0;
      st.task?.stop('reject', 'rejected by the server');
    }
    // Logs first, then results, so an attempt's output arrives before its outcome.
    for (const st of this.attempts.values()) {
      if (st.offline.length === 0) continue;
      if (st.droppedBytes > 0)
        this.log.warn('log bytes dropped while disconnected', { attemptId: st.id, droppedBytes: st.droppedBytes });
      const chunks = st.offline;
      st.offline = [];
      st.offlineBytes = 0;
      st.droppedBytes = 0;
      for (const chunk of chunks) this.write({ msg: { $case: 'logChunk', value: chunk } });
    }
    for (const result of this.unacked.values()) this.write({ msg: { $case: 'result', value: result } });

    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  private onAssign(a: Assign): void {
    const id = a.attemptId;
    if (!id) {
      this.log.warn('ignoring Assign without attempt id', { runId: a.runId, taskKey: a.taskKey });
      return;
    }
    if (this.attempts.has(id) || this.unacked.has(id) || this.recentDone.has(id)) {
      // A redelivered Assign (e.g. our Ack was lost): confirm again, never run twice.
      this.log.debug('duplicate Assign; re-acknowledging', { attemptId: id });
      this.write({ msg: { $case: 'ack', value: { attemptId: id } } });
      return;
    }
    if (this.stopped) return;
    if (a.ackDeadlineMs > 0 && Date.now() + this.clockOffsetMs > a.ackDeadlineMs) {
      // We were frozen or the stream stalled: the server has offered this task elsewhere, so it must not run here.
      this.log.warn('offer received after its ACK deadline; not started', { attemptId: id, taskKey: a.taskKey });
      this.remember(id);
      return;
    }
    this.write({ msg: { $case: 'ack', value: { attemptId: id } } });
    if (this.runningIds().length >= this.opts.slots) {
      this.log.warn('assigned more attempts than slots; running it anyway', { attemptId: id, slots: this.opts.slots });
    }
    this.log.info('starting attempt', {
      attemptId: id,
      runId: a.runId,
      taskKey: a.taskKey,
      attempt: a.attemptNumber,
      type: a.spec?.type,
    });

    const st: AttemptState = {
      id,
      running: true,
      rejected: false,
      task: null,
      batcher: new LogBatcher((stream, data) => this.emitLog(st, stream, data)),
      maskers: new Map(),
      secretValues: a.secretValues,
      nextSeq: 0,
      offline: [],
      offlineBytes: 0,
      droppedBytes: 0,
      finished: Promise.resolve(),
    };
    this.attempts.set(id, st);
    // The execution's span, a child of the attempt's (Assign.trace_context); the task gets it as TRACEPARENT.
    const span = startExecutionSpan(a.traceContext['traceparent'], {
      attemptId: id,
      runId: a.runId,
      taskKey: a.taskKey,
      attemptNumber: a.attemptNumber,
      type: a.spec?.type ?? 'noop',
      agent: this.opts.name,
    });
    const task = startTask({
      assign: span ? { ...a, traceContext: { ...a.traceContext, traceparent: span.traceparent } } : a,
      workDir: this.opts.workDir,
      baseEnv: this.baseEnv,
      onOutput: (stream, data) => st.batcher.write(stream, this.maskerOf(st, stream).push(data)),
    });
    st.task = task;
    st.finished = task.done
      .catch((err: unknown): TaskOutcome => {
        const now = Date.now();
        return {
          status: Result_Status.FAILED,
          exitCode: NO_EXIT_CODE,
          outputJson: '',
          error: `agent error: ${(err as Error)?.message ?? String(err)}`,
          startedAtMs: now,
          finishedAtMs: now,
        };
      })
      .then((outcome) => {
        span?.end(statusName(outcome.status), outcome.exitCode, outcome.error);
        return this.onTaskDone(st, outcome);
      });
  }

  private maskerOf(st: AttemptState, stream: LogChunk_Stream): StreamMasker {
    let m = st.maskers.get(stream);
    if (!m) st.maskers.set(stream, (m = new StreamMasker(st.secretValues)));
    return m;
  }

  private async onTaskDone(st: AttemptState, done: TaskOutcome): Promise<void> {
    for (const [stream, masker] of st.maskers) st.batcher.write(stream, masker.end());
    st.batcher.flush();
    // The task's output and error (an HTTP error may quote a URL) leave the host masked too, journal included.
    const outcome: TaskOutcome = {
      ...done,
      outputJson: maskJson(done.outputJson, st.secretValues),
      error: maskText(done.error, st.secretValues),
    };
    st.running = false;
    st.task = null;
    if (st.rejected) {
      this.attempts.delete(st.id);
      this.remember(st.id);
      this.log.info('rejected attempt stopped', { attemptId: st.id });
      return;
    }
    const result: Result = { attemptId: st.id, ...outcome, cpuMillis: outcome.cpuMillis ?? 0 };
    try {
      await this.journal.write(result);
    } catch (err) {
      // Still deliver it; only a restart before the ack could lose it now.
      this.log.error('could not write the result to the journal', { attemptId: st.id, error: String(err) });
    }
    this.unacked.set(st.id, result);
    this.log.info('attempt finished', {
      attemptId: st.id,
      status: Result_Status[result.status],
      exitCode: result.exitCode,
      error: result.error || undefined,
    });
    if (this.welcomed) this.write({ msg: { $case: 'result', value: result } });
  }

  private onCancel(c: Cancel): void {
    const st = this.attempts.get(c.attemptId);
    if (!st || !st.running) {
      this.log.debug('Cancel for an attempt that is not running', { attemptId: c.attemptId });
      return;
    }
    this.log.info('cancelling attempt', { attemptId: c.attemptId, reason: c.reason });
    st.task?.stop('cancel', c.reason);
  }

  private onResultAck(ack: ResultAck): void {
    const id = ack.attemptId;
    if (!this.unacked.delete(id)) {
      this.log.debug('ResultAck for an unknown result', { attemptId: id });
      return;
    }
    // Rejected results are forgotten too: the server recorded why and resending changes nothing.
    if (!ack.accepted) {
      this.log.warn('result rejected by the server', {
        attemptId: id,
        rejection: ResultAck_Rejection[ack.rejection],
        detail: ack.detail,
      });
    }
    this.attempts.delete(id);
    this.remember(id);
    this.journal
      .remove(id)
      .catch((err: unknown) =>
        this.log.warn('could not record an acknowledgement in the journal', { attemptId: id, error: String(err) }),
      );
  }

  private onDrainRequest(call: Call, d: Drain): void {
    const delay = d.reconnectAfterMs > 0 ? d.reconnectAfterMs : this.backoff.next();
    this.log.info('server asked to drain; reconnecting', { reason: d.reason, reconnectAfterMs: delay });
    this.detach();
    void closeCall(call, CLOSE_GRACE_MS);
    // A fresh channel, so the reconnect can land on another replica behind the same address.
    this.client?.close();
    this.client = null;
    this.scheduleConnect(delay);
  }

  // ------------------------------------------------------------------ agent -> server

  private emitLog(st: AttemptState, stream: LogChunk_Stream, data: Buffer): void {
    if (st.rejected) return;
    const chunk: LogChunk = { attemptId: st.id, seq: st.nextSeq++, data, stream };
    if (!this.welcomed || st.offline.length > 0) {
      this.bufferOffline(st, [chunk], false);
      return;
    }
    if (this.blocked && this.queuedLogBytes + data.length > QUEUED_LOG_LIMIT) {
      if (!this.queueDropWarned) {
        this.queueDropWarned = true;
        this.log.warn('the server is not reading fast enough; dropping log chunks', { attemptId: st.id });
      }
      return;
    }
    this.queueDropWarned = false;
    this.write({ msg: { $case: 'logChunk', value: chunk } });
  }

  private bufferOffline(st: AttemptState, chunks: LogChunk[], prepend: boolean): void {
    st.offline = prepend ? [...chunks, ...st.offline] : [...st.offline, ...chunks];
    for (const c of chunks) st.offlineBytes += c.data.length;
    while (st.offlineBytes > OFFLINE_LOG_LIMIT && st.offline.length > 1) {
      const dropped = st.offline.shift() as LogChunk;
      st.offlineBytes -= dropped.data.length;
      if (st.droppedBytes === 0)
        this.log.warn('offline log buffer full; dropping the oldest output', {
          attemptId: st.id,
          limitBytes: OFFLINE_LOG_LIMIT,
        });
      st.droppedBytes += dropped.data.length;
    }
  }

  private sendHeartbeat(): void {
    if (!this.welcomed) return;
    const running = this.runningIds();
    this.write({
      msg: {
        $case: 'heartbeat',
        value: {
          runningAttemptIds: running,
          freeSlots: Math.max(0, this.opts.slots - running.length),
          load: loadavg()[0] ?? 0,
        },
      },
    });
  }

  private runningIds(): string[] {
    const ids: string[] = [];
    for (const st of this.attempts.values()) if (st.running && !st.rejected) ids.push(st.id);
    return ids;
  }

  private remember(id: string): void {
    this.recentDone.add(id);
    if (this.recentDone.size > RECENT_DONE_LIMIT) {
      const oldest = this.recentDone.values().next().value;
      if (oldest !== undefined) this.recentDone.delete(oldest);
    }
  }
}

/** Half-closes the call and cancels it if the server has not finished it within graceMs. */
function closeCall(call: Call, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      call.cancel();
      done();
    }, graceMs);
    call.on('status', done);
    // A cancelled or failed call emits 'error'; swallow it, the stream is already detached.
    call.on('error', () => undefined);
    try {
      call.end();
    } catch {
      done();
    }
  });
}

function statusName(s: Result_Status): string {
  switch (s) {
    case Result_Status.SUCCEEDED:
      return 'succeeded';
    case Result_Status.TIMED_OUT:
      return 'timed_out';
    case Result_Status.CANCELLED:
      return 'cancelled';
    default:
      return 'failed';
  }
}
