import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Client as PgClient } from 'pg';
import { Logger, makeWorkerUtils, run as runGraphile, runMigrations } from 'graphile-worker';
import { Queue, Worker } from 'bullmq';
import { CpuMeter, pidsByName } from './machine.js';
import { type Summary, sleep, summarize, withTimeout } from './stats.js';

export const PEER_JOBS = 10_000;
export const PEER_CONCURRENCY = 100;
/** Jobs enqueued one at a time into an idle worker for the enqueue-to-start latency. */
export const LATENCY_SAMPLES = 500;

export interface GrpcResult {
  ok: boolean;
  error?: string;
  inFlight: number;
  roundTripsPerSec: number;
  /** One message in flight: round-trip time. */
  single: Summary;
}

export interface PeerResult {
  name: string;
  ok: boolean;
  error?: string;
  jobs: number;
  jobsPerSec: number;
  /** Enqueue (before the insert call) to handler start, one job at a time, idle worker. */
  latency: Summary;
  cpu: Record<string, number>;
  notes: string;
}

const identity = (b: Buffer) => b;
export const ECHO_SERVICE: grpc.ServiceDefinition = {
  pingPong: {
    path: '/bench.Bench/PingPong',
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: 'pingPong',
  },
};

/** An echo server for the ping-pong (run by dist/grpc-echo.js in a child process). */
export async function startEcho(def: grpc.ServiceDefinition): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(def, {
    pingPong: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(b));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))),
  );
  return { server, port };
}

/**
 * A bare grpc-js bidi stream echoing 64-byte buffers: the server in a child
 * process, the client here.
 */
export async function runGrpc(seconds = 3, inFlight = 100): Promise<GrpcResult> {
  const child = fork(join(__dirname, 'grpc-echo.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let port: number;
  try {
    port = await withTimeout(
      'grpc echo server start',
      20_000,
      new Promise<number>((res, rej) => {
        child.once('message', (m: { port?: number; error?: string }) =>
          m.port ? res(m.port) : rej(new Error(m.error ?? 'echo server failed')),
        );
        child.once('exit', (code) => rej(new Error(`echo server exited with ${code}`)));
      }),
    );
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    return { ok: false, error: String(err), inFlight, roundTripsPerSec: NaN, single: summarize([]) };
  }
  const Ctor = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Bench');
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    pingPong(): grpc.ClientDuplexStream<Buffer, Buffer>;
  };
  try {
    // Throughput: keep `inFlight` messages outstanding for `seconds`.
    const throughput = await withTimeout(
      'grpc ping-pong',
      (seconds + 10) * 1000,
      new Promise<number>((resolve, reject) => {
        const call = client.pingPong();
        const msg = randomBytes(64);
        let done = 0;
        let stopAt = 0;
        let t0 = 0;
        let outstanding = 0;
        call.on('data', () => {
          done++;
          outstanding--;
          if (performance.now() < stopAt) {
            outstanding++;
            call.write(msg);
          } else if (outstanding === 0) {
            const secs = (performance.now() - t0) / 1000;
            call.end();
            resolve(done / secs);
          }
        });
        call.on('error', reject);
        // Warm up for 0.5 s, then count.
        const warm = performance.now() + 500;
        let warmDone = false;
        const warmCheck = setInterval(() => {
          if (!warmDone && performance.now() >= warm) {
            warmDone = true;
            done = 0;
            t0 = performance.now();
            stopAt = t0 + seconds * 1000;
            clearInterval(warmCheck);
          }
        }, 10);
        stopAt = warm + seconds * 1000 + 1000;
        for (let i = 0; i < inFlight; i++) {
          outstanding++;
          call.write(msg);
        }
      }),
    );
    // Latency: one message at a time.
    const rtts: number[] = [];
    await withTimeout(
      'grpc single ping',
      30_000,
      new Promise<void>((resolve, reject) => {
        const call = client.pingPong();
        const msg = randomBytes(64);
        let sent = 0;
        const until = performance.now() + 2_000;
        call.on('data', () => {
          rtts.push(performance.now() - sent);
          if (performance.now() < until) {
            sent = performance.now();
            call.write(msg);
          } else {
            call.end();
            resolve();
          }
        });
        call.on('error', reject);
        sent = performance.now();
        call.write(msg);
      }),
    );
    return { ok: true, inFlight, roundTripsPerSec: throughput, single: summarize(rtts.slice(100)) };
  } catch (err) {
    return {
      ok: false,
      error: err instanceof Error ? err.message : String(err),
      inFlight,
      roundTripsPerSec: NaN,
      single: summarize([]),
    };
  } finally {
    client.close();
    child.kill('SIGTERM');
    await exited;
  }
}

const PG_URL = 'postgres://postgres@127.0.0.1:5432';

/** Graphile Worker with default options on a fresh PostgreSQL database. */
export async function runGraphileWorker(n = PEER_JOBS): Promise<PeerResult> {
  const dbName = `baton_bench_gw_${randomBytes(4).toString('hex')}`;
  const admin = new PgClient({ connectionString: `${PG_URL}/postgres` });
  const result: PeerResult = {
    name: 'Graphile Worker 0.17.3 (PostgreSQL)',
    ok: false,
    jobs: n,
    jobsPerSec: NaN,
    latency: summarize([]),
    cpu: {},
    notes: 'default options (no localQueue, no batched completion), pollInterval 2 s + LISTEN/NOTIFY',
  };
  const logger = new Logger(() => (level, message) => {
    if (String(level) === 'error') process.stderr.write(`[graphile] ${message}\n`);
  });
  let runner: Awaited<ReturnType<typeof runGraphile>> | null = null;
  let utils: Awaited<ReturnType<typeof makeWorkerUtils>> | null = null;
  let pg: PgClient | null = null;
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${dbName}`);
    const connectionString = `${PG_URL}/${dbName}`;
    await runMigrations({ connectionString, logger });
    utils = await makeWorkerUtils({ connectionString, logger });
    pg = new PgClient({ connectionString });
    await pg.connect();
    for (let k = 0; k < n; k += 1_000) {
      await utils.addJobs(
        Array.from({ length: Math.min(1_000, n - k) }, () => ({ identifier: 'noop', payload: { t: 0 } })),
      );
    }
    await pg.query('ANALYZE');
    let started = 0;
    let firstStart = 0;
    let waiter: ((t: number) => void) | null = null;
    const meter = new CpuMeter({ bench: () => [process.pid], postgres: () => pidsByName('postgres') });
    runner = await runGraphile({
      connectionString,
      concurrency: PEER_CONCURRENCY,
      noHandleSignals: true,
      pollInterval: 2_000,
      logger,
      taskList: {
        noop: async () => {
          const now = performance.now();
          if (started++ === 0) {
            firstStart = now;
            meter.begin();
          }
          if (waiter) waiter(now);
        },
      },
    });
    const left = async () =>
      Number((await pg!.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker._private_jobs')).rows[0]!.n);
    const until = Date.now() + 120_000;
    for (;;) {
      if ((await left()) === 0) break;
      if (Date.now() > until) throw new Error(`graphile: jobs left after 120 s: ${await left()}`);
      await sleep(20);
    }
    result.jobsPerSec = n / ((performance.now() - firstStart) / 1000);
    result.cpu = meter.end();
    // Unloaded latency: one job at a time into the idle worker.
    const lat: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const startedP = new Promise<number>((r) => (waiter = r));
      const t = performance.now();
      await utils.addJob('noop', { t: i });
      lat.push((await withTimeout('graphile job start', 10_000, startedP)) - t);
      waiter = null;
    }
    result.latency = summarize(lat.slice(20));
    result.ok = true;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    if (runner) await Promise.resolve(runner.stop()).catch(() => undefined);
    if (utils) await Promise.resolve(utils.release()).catch(() => undefined);
    await pg?.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
  return result;
}

/** BullMQ on the local Redis: a fresh queue, obliterated afterwards. */
export async function runBullmq(n = PEER_JOBS): Promise<PeerResult> {
  const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
  const name = `baton-bench-${randomBytes(4).toString('hex')}`;
  const result: PeerResult = {
    name: 'BullMQ 6.7.0 (Redis)',
    ok: false,
    jobs: n,
    jobsPerSec: NaN,
    latency: summarize([]),
    cpu: {},
    notes: 'removeOnComplete, one Worker with concurrency 100',
  };
  const queue = new Queue(name, { connection });
  let worker: Worker | null = null;
  try {
    for (let k = 0; k < n; k += 1_000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1_000, n - k) }, () => ({
          name: 'noop',
          data: { t: 0 },
          opts: { removeOnComplete: true, removeOnFail: true },
        })),
      );
    }
    let firstStart = 0;
    let started = 0;
    let completed = 0;
    let waiter: ((t: number) => void) | null = null;
    let allDone: (() => void) | null = null;
    const finished = new Promise<void>((r) => (allDone = r));
    const meter = new CpuMeter({ bench: () => [process.pid], redis: () => pidsByName('redis-server') });
    worker = new Worker(
      name,
      async () => {
        const now = performance.now();
        if (started++ === 0) {
          firstStart = now;
          meter.begin();
        }
        if (waiter) waiter(now);
      },
      { connection, concurrency: PEER_CONCURRENCY },
    );
    worker.on('completed', () => {
      if (++completed === n) allDone?.();
    });
    worker.on('error', (err) => process.stderr.write(`[bullmq] ${err.message}\n`));
    await withTimeout('bullmq 10k jobs', 120_000, finished);
    result.jobsPerSec = n / ((performance.now() - firstStart) / 1000);
    result.cpu = meter.end();
    const lat: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const startedP = new Promise<number>((r) => (waiter = r));
      const t = performance.now();
      await queue.add('noop', { t: i }, { removeOnComplete: true, removeOnFail: true });
      lat.push((await withTimeout('bullmq job start', 10_000, startedP)) - t);
      waiter = null;
    }
    result.latency = summarize(lat.slice(20));
    result.ok = true;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    await worker?.close().catch(() => undefined);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
  return result;
}
