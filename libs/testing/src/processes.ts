import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inheritedEnv, readTestEnv } from '@baton/config';

export const ROOT = resolve(__dirname, '../../..');
export const CLI = join(ROOT, 'services/cli/dist/main.js');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Timings short enough for tests: leases of 1.5 s, heartbeats every 200 ms. */
export const FAST_TIMINGS: Record<string, string> = {
  BATON_HEARTBEAT_INTERVAL_MS: '200',
  BATON_LEASE_TTL_MS: '1500',
  BATON_ACK_TIMEOUT_MS: '2000',
  BATON_SWEEP_INTERVAL_MS: '100',
  BATON_KILL_GRACE_MS: '500',
  BATON_TRIGGER_POLL_MS: '1000',
  BATON_MISFIRE_TOLERANCE_MS: '2000',
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Platform {
  url: string;
  grpc: string;
  token: string;
  dataDir: string;
  proc: ChildProcess;
  output(): string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  /** Like `api`, with only the given headers (no bearer key): a browser's call, with or without a session cookie. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>;
  /** Issues an agent token through the API. */
  agentToken(): Promise<string>;
  stop(): Promise<void>;
  /** Stops the process (staying down `downMs`) and starts it again on the same data. */
  restart(opts?: { downMs?: number }): Promise<void>;
}

function collect(proc: ChildProcess): () => string {
  let out = '';
  const add = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout?.on('data', add);
  proc.stderr?.on('data', add);
  return () => out;
}

async function stopProcess(proc: ChildProcess, timeoutMs = 5_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

/** Starts `baton standalone` as a real process (no local agent unless asked). */
export async function startPlatform(opts: {
  databaseUrl: string | null;
  env?: Record<string, string>;
  localAgent?: boolean;
}): Promise<Platform> {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-test-'));
  const [http, grpc] = [await freePort(), await freePort()];
  const token = `bat_key_test_${randomBytes(24).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...inheritedEnv(),
    ...FAST_TIMINGS,
    BATON_DATA_DIR: dataDir,
    BATON_HTTP_HOST: '127.0.0.1',
    BATON_HTTP_PORT: String(http),
    BATON_GRPC_HOST: '127.0.0.1',
    BATON_GRPC_PORT: String(grpc),
    BATON_BOOTSTRAP_TOKEN: token,
    BATON_LOG_LEVEL: 'info',
    BATON_LOCAL_AGENT: opts.localAgent ? 'true' : 'false',
    ...(opts.databaseUrl ? { BATON_DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  };
  // 'close' (not 'exit'): by then its output is read to the end, so a start-up error is all in output().
  // One flag per process: the stopped process's 'close' comes after its 'exit', so during a restart it
  // could otherwise mark the new process as ended.
  const ended = new WeakSet<ChildProcess>();
  const launch = () => {
    const p = spawn(process.execPath, [CLI, 'standalone'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    p.once('close', () => ended.add(p));
    return p;
  };
  let proc = launch();
  let output = collect(proc);
  const url = `http://127.0.0.1:${http}`;
  const request = async <T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> => {
    const res = await fetch(url + path, {
      method,
      headers: {
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // text/plain
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  };
  const api = <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    request<T>(method, path, body, { authorization: `Bearer ${token}`, ...headers });
  const ready = async () => {
    let state: 'ready' | 'exited';
    try {
      state = await waitFor<'ready' | 'exited'>(
        'the platform to be ready',
        async () => {
          if (ended.has(proc)) return 'exited';
          const r = await fetch(`${url}/readyz`).catch(() => null);
          return r?.ok ? 'ready' : false;
        },
        60_000,
      );
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
    if (state === 'exited') throw new Error(`platform exited (${proc.exitCode ?? proc.signalCode}):\n${output()}`);
  };
  await ready();
  return {
    url,
    grpc: `127.0.0.1:${grpc}`,
    token,
    dataDir,
    get proc() {
      return proc;
    },
    output: () => output(),
    api,
    request,
    agentToken: async () => {
      const r = await api<{ token: string }>('POST', '/api/v1/agent-tokens', { name: 'test' });
      if (r.status !== 201) throw new Error(`agent token: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token;
    },
    stop: async () => {
      await stopProcess(proc);
      if (!readTestEnv().keepData) rmSync(dataDir, { recursive: true, force: true });
    },
    restart: async (opts = {}) => {
      await stopProcess(proc);
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      proc = launch();
      output = collect(proc);
      await ready();
    },
  };
}

export interface AgentProcess {
  name: string;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Starts `baton agent` as a real process. */
export function startAgentProcess(opts: {
  server: string;
  token: string;
  name: string;
  labels?: string;
  slots?: number;
  workDir: string;
  /** More flags, e.g. `--tls-ca FILE`. */
  args?: string[];
  env?: Record<string, string>;
}): AgentProcess {
  const args = [
    CLI,
    'agent',
    '--server',
    opts.server,
    '--token',
    opts.token,
    '--name',
    opts.name,
    '--slots',
    String(opts.slots ?? 4),
    '--work-dir',
    opts.workDir,
  ];
  if (opts.labels) args.push('--labels', opts.labels);
  args.push(...(opts.args ?? []));
  const proc = spawn(process.execPath, args, {
    env: { ...inheritedEnv(), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(proc);
  return {
    name: opts.name,
    proc,
    output,
    stop: () => stopProcess(proc),
    kill: async (signal) => {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill(signal);
      await exited;
    },
  };
}

/** Runs the `baton` CLI to completion; `input` is written to its stdin (otherwise stdin is closed). */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { ...inheritedEnv(), ...env },
      cwd,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (input !== undefined) p.stdin!.end(input);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

export interface ServiceProcess {
  name: string;
  url: string;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Starts `node services/<service>/dist/main.js` (the production topology) and waits for /readyz. */
export async function startServiceProcess(opts: {
  service: string;
  name?: string;
  env: Record<string, string>;
  httpPort?: number;
}): Promise<ServiceProcess> {
  const port = opts.httpPort ?? (await freePort());
  const main = join(ROOT, 'services', opts.service, 'dist/main.js');
  const proc = spawn(process.execPath, [main], {
    env: {
      ...inheritedEnv(),
      ...FAST_TIMINGS,
      BATON_HTTP_HOST: '127.0.0.1',
      BATON_HTTP_PORT: String(port),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(proc);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      `${opts.name ?? opts.service} to be ready`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`${opts.service} exited:\n${output()}`);
        const r = await fetch(`${url}/readyz`).catch(() => null);
        return r?.ok ?? false;
      },
      60_000,
    );
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return {
    name: opts.name ?? opts.service,
    url,
    proc,
    output,
    stop: () => stopProcess(proc),
    kill: async (signal) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill(signal);
      await exited;
    },
  };
}

/** A JSON REST call with a bearer token. */
export async function callApi<T = unknown>(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text
  }
  return { status: res.status, body: parsed as T };
}
