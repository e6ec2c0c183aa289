/** The services the edge proxies to; each has its own upstream URL. */
export const SERVICE_NAMES = ['catalog', 'trigger', 'scheduler', 'tenancy', 'audit', 'insight'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface Route {
  /**
   * `{name}` (any `{word}`) is one path segment; a trailing `/*` is one or more further
   * segments; a trailing `*` glued to a word is that word alone or followed by
   * `/` and anything.
   */
  pattern: string;
  service: ServiceName;
}

/**
 * The routing table, first match wins. A run's SLA and lateness (insight) come before the
 * scheduler's runs; the specific job sub-resources come
 * before catalog's catch-all `/api/v1/jobs/*`. docs/deployment.md shows this
 * table; tools/deploy/deploy.spec.ts checks that it does.
 */
export const ROUTES: readonly Route[] = [
  { pattern: '/api/v1/runs/{id}/sla', service: 'insight' },
  { pattern: '/api/v1/runs/{id}/lateness', service: 'insight' },
  { pattern: '/api/v1/runs', service: 'scheduler' },
  { pattern: '/api/v1/runs/*', service: 'scheduler' },
  { pattern: '/api/v1/agents*', service: 'scheduler' },
  { pattern: '/api/v1/pools*', service: 'scheduler' },
  { pattern: '/api/v1/backfills/*', service: 'scheduler' },
  { pattern: '/api/v1/jobs/{name}/runs', service: 'scheduler' },
  { pattern: '/api/v1/jobs/{name}/backfills', service: 'scheduler' },
  { pattern: '/api/v1/jobs/{name}/grid', service: 'scheduler' },
  { pattern: '/api/v1/jobs/{name}/sla', service: 'insight' },
  { pattern: '/api/v1/jobs/{name}/sla/*', service: 'insight' },
  { pattern: '/api/v1/sla', service: 'insight' },
  { pattern: '/api/v1/reports/*', service: 'insight' },
  { pattern: '/api/v1/schedule/*', service: 'trigger' },
  { pattern: '/api/v1/jobs/{name}/slots', service: 'trigger' },
  { pattern: '/api/v1/jobs/{name}/triggers/*', service: 'trigger' },
  { pattern: '/hooks/*', service: 'trigger' },
  { pattern: '/api/v1/tenants*', service: 'tenancy' },
  { pattern: '/api/v1/whoami', service: 'tenancy' },
  { pattern: '/api/v1/quota', service: 'tenancy' },
  { pattern: '/api/v1/usage', service: 'tenancy' },
  { pattern: '/api/v1/api-keys*', service: 'tenancy' },
  { pattern: '/api/v1/agent-tokens*', service: 'tenancy' },
  { pattern: '/api/v1/auth/*', service: 'tenancy' },
  { pattern: '/api/v1/users*', service: 'tenancy' },
  { pattern: '/api/v1/invitations*', service: 'tenancy' },
  { pattern: '/api/v1/secrets*', service: 'tenancy' },
  { pattern: '/api/v1/audit*', service: 'audit' },
  { pattern: '/api/v1/audit.csv', service: 'audit' },
  { pattern: '/api/v1/alert-channels*', service: 'insight' },
  { pattern: '/api/v1/alert-rules*', service: 'insight' },
  { pattern: '/api/v1/alerts', service: 'insight' },
  { pattern: '/api/v1/schemas/*', service: 'catalog' },
  { pattern: '/api/v1/jobs', service: 'catalog' },
  { pattern: '/api/v1/jobs/*', service: 'catalog' },
];

function compile(pattern: string): RegExp {
  const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  let tail = '';
  let body = pattern;
  if (body.endsWith('/*')) {
    body = body.slice(0, -2);
    tail = '/[^/]+(?:/[^/]+)*';
  } else if (body.endsWith('*')) {
    body = body.slice(0, -1);
    tail = '(?:/[^/]+)*';
  }
  const segments = body.split('/').map((s) => (/^\{\w+\}$/.test(s) ? '[^/]+' : escape(s)));
  return new RegExp(`^${segments.join('/')}${tail}$`);
}

const COMPILED = ROUTES.map((r) => ({ ...r, regex: compile(r.pattern) }));

/**
 * The service that answers `path` (no query string), or null when none does.
 * A trailing slash is ignored, as the services' router ignores it. Empty and
 * dot segments (`//`, `/./`, `/../`, also percent-encoded) never match: the
 * edge routes by the path the upstream will see, so it must not be one that
 * something along the way could rewrite into another service's path.
 */
export function routeFor(path: string): ServiceName | null {
  if (!path.startsWith('/')) return null;
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const segments = p.split('/').slice(1);
  if (segments.some((s) => s === '' || /^(?:\.|%2e){1,2}$/i.test(s))) return null;
  for (const r of COMPILED) if (r.regex.test(p)) return r.service;
  return null;
}
