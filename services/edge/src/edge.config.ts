import type { LogLevel } from '@baton/telemetry';
import { SERVICE_NAMES, type ServiceName } from './routes.js';

/** The upstream URL variable of each service, e.g. `BATON_CATALOG_URL=http://catalog:8080`. */
export const UPSTREAM_ENV: Record<ServiceName, string> = {
  catalog: 'BATON_CATALOG_URL',
  trigger: 'BATON_TRIGGER_URL',
  scheduler: 'BATON_SCHEDULER_URL',
  tenancy: 'BATON_TENANCY_URL',
  audit: 'BATON_AUDIT_URL',
  insight: 'BATON_INSIGHT_URL',
};

/** Every variable the edge reads; tools/deploy checks the manifests against this list. */
export const EDGE_ENV_NAMES = [
  'BATON_EDGE_HOST',
  'BATON_EDGE_PORT',
  'BATON_EDGE_TIMEOUT_MS',
  'BATON_EDGE_SHUTDOWN_GRACE_MS',
  'BATON_LOG_LEVEL',
  'BATON_LOG_FORMAT',
  ...SERVICE_NAMES.map((s) => UPSTREAM_ENV[s]),
] as const;

export interface EdgeConfig {
  host: string;
  port: number;
  upstreams: Record<ServiceName, URL>;
  timeoutMs: number;
  shutdownGraceMs: number;
  log: { level: LogLevel; format: 'text' | 'json' };
}

/** Raised when the environment is invalid; lists every bad variable. */
export class EdgeConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'EdgeConfigError';
  }
}

/**
 * Reads the edge's settings from an environment map (the caller passes
 * `process.env`). It belongs in libs/config beside the other processes'
 * schema and moves there; until then it stays pure so main.ts is the only
 * reader of the real environment.
 */
export function parseEdgeEnv(env: Readonly<Record<string, string | undefined>>): EdgeConfig {
  const problems: string[] = [];
  const int = (name: string, def: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      problems.push(`${name}: must be an integer >= ${min} (got "${raw}")`);
      return def;
    }
    return n;
  };
  const port = int('BATON_EDGE_PORT', 8080, 0);
  if (port > 65535) problems.push('BATON_EDGE_PORT: must be at most 65535');
  const upstreams = {} as Record<ServiceName, URL>;
  for (const service of SERVICE_NAMES) {
    const name = UPSTREAM_ENV[service];
    const raw = env[name];
    if (!raw) {
      problems.push(`${name}: required, the ${service} service's base URL, e.g. http://${service}:8080`);
      continue;
    }
    try {
      const url = new URL(raw);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
      if (url.search || url.hash) throw new Error('has a query or fragment');
      upstreams[service] = url;
    } catch {
      problems.push(`${name}: must be an http(s) URL without query, e.g. http://${service}:8080 (got "${raw}")`);
    }
  }
  const level = env.BATON_LOG_LEVEL ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    problems.push('BATON_LOG_LEVEL: must be debug, info, warn or error');
  const format = env.BATON_LOG_FORMAT ?? 'text';
  if (format !== 'text' && format !== 'json') problems.push('BATON_LOG_FORMAT: must be text or json');
  const config: EdgeConfig = {
    host: env.BATON_EDGE_HOST || '0.0.0.0',
    port,
    upstreams,
    timeoutMs: int('BATON_EDGE_TIMEOUT_MS', 60_000, 1),
    shutdownGraceMs: int('BATON_EDGE_SHUTDOWN_GRACE_MS', 25_000, 0),
    log: { level: level as LogLevel, format: format === 'json' ? 'json' : 'text' },
  };
  if (problems.length > 0) throw new EdgeConfigError(problems);
  return config;
}
