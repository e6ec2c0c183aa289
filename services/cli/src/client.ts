import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ClientEnv } from '@baton/config';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

export interface Connection {
  server: string;
  token: string;
  source: string;
}

/** Server and token: flags, then BATON_SERVER/BATON_TOKEN, then the config file written at bootstrap. */
export function resolveConnection(
  flags: { server?: string; token?: string },
  env: ClientEnv,
  cwd = process.cwd(),
): Connection {
  const candidates = [
    env.configPath,
    resolve(cwd, env.dataDir, 'client.json'),
    env.home ? join(env.home, '.baton', 'config.json') : null,
  ].filter((p): p is string => !!p);
  let file: { server?: string; token?: string } = {};
  let source = 'flags/env';
  for (const p of candidates) {
    if (existsSync(p)) {
      try {
        file = JSON.parse(readFileSync(p, 'utf8')) as typeof file;
        source = p;
      } catch {
        throw new CliError(`${p}: not valid JSON`);
      }
      break;
    }
  }
  const server = flags.server ?? env.server ?? file.server ?? 'http://127.0.0.1:8080';
  const token = flags.token ?? env.token ?? file.token;
  if (!token) {
    throw new CliError(
      'no API token: pass --token, set BATON_TOKEN, or run `npm start` once (it writes data/client.json)',
    );
  }
  return { server: server.replace(/\/+$/, ''), token, source };
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

  /** Like request, with the response headers. */
  async exchange<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ body: T; headers: Headers }> {
    let res: Response;
    try {
      res = await fetch(`${this.conn.server}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.conn.token}`,
          ...(body !== undefined ? { 'content-type': contentType } : {}),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    } catch (err) {
      throw new CliError(
        `cannot reach ${this.conn.server}: ${(err as Error).cause ? String((err as Error).cause) : String(err)}`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
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
    if ((res.headers.get('content-type') ?? '').includes('application/json')) {
      return { body: JSON.parse(text) as T, headers: res.headers };
    }
    return { body: text as T, headers: res.headers };
  }
}
