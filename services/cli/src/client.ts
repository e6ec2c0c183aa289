import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { dirname, join, resolve } from 'node:path';
import type { ClientEnv } from '@baton/config';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** What `npm start` and `baton login` save for later calls (data/client.json, ~/.baton/config.json). */
export interface ClientFile {
  server?: string;
  token?: string;
  /** A login session (`baton login`): its cookie as the server set it, and its CSRF token. */
  session?: { cookie: string; csrfToken: string; email: string; tenant: string };
  admin?: { email: string; password: string };
}

export interface Connection {
  server: string;
  /** An API key; null when a login session is used. */
  token: string | null;
  session: { cookie: string; csrfToken: string } | null;
  source: string;
  /** Platform admins: the tenant (id or name) to act inside, sent as X-Baton-Tenant. */
  actIn?: string;
}

/** The first client file that exists: BATON_CONFIG, data/client.json, ~/.baton/config.json. */
export function findClientFile(env: ClientEnv, cwd = process.cwd()): { path: string | null; file: ClientFile } {
  const candidates = [
    env.configPath,
    resolve(cwd, env.dataDir, 'client.json'),
    env.home ? join(env.home, '.baton', 'config.json') : null,
  ].filter((p): p is string => !!p);
  for (const p of candidates) {
    if (existsSync(p)) {
      try {
        return { path: p, file: JSON.parse(readFileSync(p, 'utf8')) as ClientFile };
      } catch {
        throw new CliError(`${p}: not valid JSON`);
      }
    }
  }
  return { path: null, file: {} };
}

/** Where `baton login` saves its session: the client file in use, else BATON_CONFIG or ~/.baton/config.json. */
export function clientFileToWrite(env: ClientEnv, cwd = process.cwd()): string {
  return (
    findClientFile(env, cwd).path ??
    env.configPath ??
    (env.home ? join(env.home, '.baton', 'config.json') : resolve(cwd, env.dataDir, 'client.json'))
  );
}

/** Writes the client file readable by its owner only, keeping what else it holds. */
export function updateClientFile(path: string, change: (f: ClientFile) => ClientFile): void {
  const current = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ClientFile) : {};
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(change(current), null, 2) + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function resolveServer(flags: { server?: string }, env: ClientEnv, file: ClientFile): string {
  return (flags.server ?? env.server ?? file.server ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

/**
 * Server and credential: flags, then BATON_SERVER/BATON_TOKEN, then the
 * client file (its `baton login` session before the key written at bootstrap).
 */
export function resolveConnection(
  flags: { server?: string; token?: string; actIn?: string },
  env: ClientEnv,
  cwd = process.cwd(),
): Connection {
  const conn = credentialOf(flags, env, cwd);
  return flags.actIn ? { ...conn, actIn: flags.actIn } : conn;
}

function credentialOf(flags: { server?: string; token?: string }, env: ClientEnv, cwd: string): Connection {
  const { path, file } = findClientFile(env, cwd);
  const server = resolveServer(flags, env, file);
  const source = path ?? 'flags/env';
  const token = flags.token ?? env.token;
  if (token) return { server, token, session: null, source };
  if (file.session) return { server, token: null, session: file.session, source };
  if (!file.token) {
    throw new CliError(
      'no API token or session: run `baton login`, pass --token, set BATON_TOKEN, or run `npm start` once (it writes data/client.json)',
    );
  }
  return { server, token: file.token, session: null, source };
}

export interface Problem {
  status: number;
  detail?: string;
  errors?: Array<{ path: string; message: string }>;
}

/** A thin REST client that turns problem+json answers into readable errors. */
export class ApiClient {
  constructor(private readonly conn: Connection) {}

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    return (await this.exchange<T>(method, path, body, contentType)).body;
  }

  /** Like request, with the response status (201 created, 200 replaced) and headers. */
  async exchange<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ body: T; status: number; headers: Headers }> {
    const res = await this.send(method, path, body, contentType);
    const text = await res.text();
    if ((res.headers.get('content-type') ?? '').includes('application/json')) {
      return { body: JSON.parse(text) as T, status: res.status, headers: res.headers };
    }
    return { body: text as T, status: res.status, headers: res.headers };
  }

  /** Streams a GET's response body into a file (an export of any size); the API's refusal as a CliError. */
  async download(path: string, file: string): Promise<void> {
    const res = await this.send('GET', path);
    if (!res.body) throw new CliError(`GET ${path}: empty response`, 1);
    await pipeline(Readable.fromWeb(res.body as NodeWebStream), createWriteStream(file));
  }

  /** Sends one call; a response that is not 2xx becomes a CliError naming the API's field problems. */
  private async send(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.conn.server}${path}`, {
        method,
        headers: {
          ...(this.conn.token !== null ? { authorization: `Bearer ${this.conn.token}` } : {}),
          // A session's calls that change something must echo its CSRF token; sending it always is harmless.
          ...(this.conn.session
            ? { cookie: this.conn.session.cookie, 'x-csrf-token': this.conn.session.csrfToken }
            : {}),
          ...(this.conn.actIn ? { 'x-baton-tenant': this.conn.actIn } : {}),
          ...(body !== undefined ? { 'content-type': contentType } : {}),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    } catch (err) {
      throw new CliError(
        `cannot reach ${this.conn.server}: ${(err as Error).cause ? String((err as Error).cause) : String(err)}`,
      );
    }
    if (!res.ok) {
      const text = await res.text();
      let p: Problem = { status: res.status };
      try {
        p = JSON.parse(text) as Problem;
      } catch {
        p.detail = text;
      }
      const lines = [`${method} ${path}: ${res.status} ${p.detail ?? ''}`.trim()];
      for (const e of p.errors ?? []) lines.push(`  ${e.path}: ${e.message}`);
      throw new CliError(lines.join('\n'), 1);
    }
    return res;
  }
}
