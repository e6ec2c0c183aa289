import { describe, expect, it } from 'vitest';
import { ROUTES, routeFor, SERVICE_NAMES, type ServiceName } from './routes.js';

describe('routeFor', () => {
  const cases: Array<[path: string, service: ServiceName | null]> = [
    // scheduler: runs, agents, backfills, and the run/backfill sub-resources of a job
    ['/api/v1/runs', 'scheduler'],
    ['/api/v1/runs/', 'scheduler'],
    ['/api/v1/runs/0190a1b2-c3d4', 'scheduler'],
    ['/api/v1/runs/0190a1b2/tasks/extract/logs', 'scheduler'],
    ['/api/v1/runs/0190a1b2/cancel', 'scheduler'],
    ['/api/v1/agents', 'scheduler'],
    ['/api/v1/agents/agent-1', 'scheduler'],
    ['/api/v1/backfills/0190a1b2', 'scheduler'],
    ['/api/v1/jobs/hello/runs', 'scheduler'],
    ['/api/v1/jobs/hello/backfills', 'scheduler'],
    ['/api/v1/jobs/hello/grid', 'scheduler'],
    // trigger
    ['/api/v1/schedule/preview', 'trigger'],
    ['/api/v1/jobs/hello/slots', 'trigger'],
    ['/api/v1/jobs/hello/triggers/t1', 'trigger'],
    ['/api/v1/jobs/hello/triggers/t1/pause', 'trigger'],
    ['/hooks/github', 'trigger'],
    ['/hooks/tenant-a/deploy', 'trigger'],
    // tenancy
    ['/api/v1/tenants', 'tenancy'],
    ['/api/v1/tenants/acme', 'tenancy'],
    ['/api/v1/whoami', 'tenancy'],
    ['/api/v1/quota', 'tenancy'],
    ['/api/v1/usage', 'tenancy'],
    ['/api/v1/api-keys', 'tenancy'],
    ['/api/v1/api-keys/0190a1b2', 'tenancy'],
    ['/api/v1/agent-tokens', 'tenancy'],
    ['/api/v1/agent-tokens/0190a1b2', 'tenancy'],
    ['/api/v1/auth/login', 'tenancy'],
    ['/api/v1/auth/sessions/0190a1b2', 'tenancy'],
    ['/api/v1/users', 'tenancy'],
    ['/api/v1/users/0190a1b2/role', 'tenancy'],
    ['/api/v1/secrets', 'tenancy'],
    ['/api/v1/secrets/DB_PASSWORD', 'tenancy'],
    ['/api/v1/secrets/rotate-key', 'tenancy'],
    // audit
    ['/api/v1/audit', 'audit'],
    ['/api/v1/audit.csv', 'audit'],
    // insight
    ['/api/v1/runs/01900000-0000-7000-8000-000000000000/sla', 'insight'],
    ['/api/v1/runs/01900000-0000-7000-8000-000000000000/lateness', 'insight'],
    ['/api/v1/jobs/nightly/sla/backtest', 'insight'],
    ['/api/v1/alert-channels', 'insight'],
    ['/api/v1/alert-channels/ops-hook', 'insight'],
    ['/api/v1/alert-rules', 'insight'],
    ['/api/v1/alert-rules/failures', 'insight'],
    ['/api/v1/alerts', 'insight'],
    ['/api/v1/runs/01900000-0000-7000-8000-000000000000/tasks', 'scheduler'],
    ['/api/v1/audit/verify', 'audit'],
    // catalog: the job itself and everything else under it
    ['/api/v1/jobs', 'catalog'],
    ['/api/v1/jobs/hello', 'catalog'],
    ['/api/v1/jobs/hello/versions', 'catalog'],
    ['/api/v1/schemas/job.json', 'catalog'],
    ['/api/v1/jobs/hello/grid/extra', 'catalog'],
    ['/api/v1/jobs/runs', 'catalog'], // a job named "runs"
    ['/api/v1/jobs/slots/versions', 'catalog'],
    ['/api/v1/jobs/hello/runs/extra', 'catalog'],
    // no service
    ['/', null],
    ['/api/v1', null],
    ['/api/v1/nope', null],
    ['/api/v1/runsx', null],
    ['/api/v1/agentsx', null],
    ['/api/v1/auditor', null],
    ['/api/v1/alerts/extra', null],
    ['/api/v1/alertsx', null],
    ['/api/v1/secretsx', null],
    ['/api/v1/backfills', null],
    ['/api/v1/schedule', null],
    ['/api/v1/schemas', null],
    ['/hooks', null],
    ['/api/v1/jobs/hello/triggers', 'catalog'],
    ['/api/v2/jobs', null],
    ['/healthz/x', null],
    ['api/v1/jobs', null],
    // dot and empty segments never route: no path another hop could rewrite
    ['/api/v1/jobs/../tenants', null],
    ['/api/v1/jobs/%2e%2E/tenants', null],
    ['/api/v1/jobs/./hello', null],
    ['/api/v1//jobs', null],
    ['/api/v1/runs//x', null],
  ];

  it.each(cases)('%s -> %s', (path, service) => {
    expect(routeFor(path)).toBe(service);
  });

  it('gives every service at least one route, and every route a known service', () => {
    expect(new Set(ROUTES.map((r) => r.service))).toEqual(new Set(SERVICE_NAMES));
  });
});
