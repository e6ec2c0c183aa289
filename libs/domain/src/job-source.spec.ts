import { describe, expect, it } from 'vitest';
import { type JobDefinition, parseJobDefinition } from './job-definition.js';
import { jobDefinitionSource } from './job-source.js';

const parsed = (input: unknown): JobDefinition => {
  const r = parseJobDefinition(input);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
};

const rich = {
  name: 'rich',
  description: 'every kind of field',
  params: { day: 'mon', n: 3 },
  maxActiveRuns: 2,
  maxActiveTasks: 4,
  bizDateOffset: '2h',
  triggers: [
    { type: 'cron', cron: '0 0 2 * * *', timezone: 'Europe/Berlin', misfire: 'catch_up', catchUpLimit: 5 },
    { type: 'fixedRate', every: '90s', startAt: '2026-01-01T00:00:00Z', enabled: false },
    { type: 'fixedDelay', delay: '5m', overlap: 'skip' },
    { type: 'once', at: '2026-12-24T18:00:00.500Z' },
    { type: 'webhook', params: { ref: '{{ body.ref }}' } },
    { type: 'dependency', jobs: ['upstream'], within: '1d' },
    { type: 'event', topic: 'tenant.default.orders', filter: 'value.total > 10', dedupeKey: '{{ key }}' },
    { type: 'file', path: '/data/in/*.csv', agentSelector: { zone: 'a' } },
  ],
  tasks: [
    { key: 'a', type: 'shell', command: 'echo a', env: { X: '1' }, timeout: '1h30m', priority: 5 },
    {
      key: 'b',
      type: 'http',
      dependsOn: ['a'],
      http: { method: 'post', url: 'https://example.com/x', body: { id: 1 }, expectStatus: [200, 202] },
      retry: { maxAttempts: 3, backoff: 'exponential', delay: '1s', maxDelay: '30s', jitter: 0.2, retryOn: [1] },
    },
    {
      key: 'c',
      type: 'script',
      dependsOn: ['a'],
      script: { interpreter: 'python3', body: 'print(1)' },
      triggerRule: 'all_done',
      when: 'params.n > 1',
      pool: 'etl',
      poolSlots: 2,
      resources: { cpuMillis: 500 },
    },
    {
      key: 'd',
      type: 'sql',
      dependsOn: ['b', 'c'],
      sql: { driver: 'postgres', url: 'postgres://u@db/x', statement: 'select 1', maxRows: 5 },
      idempotent: true,
      retryOnLost: true,
      agentSelector: { os: 'linux' },
      retry: { delay: '2h' },
      compensate: { type: 'shell', command: 'echo undo', timeout: 10 },
    },
  ],
};

describe('jobDefinitionSource', () => {
  it.each([
    [
      'the shape of examples/hello.yaml',
      {
        name: 'hello',
        params: { greeting: 'hello' },
        triggers: [{ type: 'cron', cron: '*/5 * * * * *', timezone: 'UTC' }],
        tasks: [
          { key: 'extract', type: 'shell', command: 'echo "extracting"\necho \'{"rows": 3}\' > "$BATON_OUTPUT"\n' },
          {
            key: 'transform',
            type: 'shell',
            dependsOn: ['extract'],
            command: 'echo transforming',
            retry: { maxAttempts: 3, backoff: 'exponential', delay: '1s' },
            timeout: '30s',
          },
          { key: 'load', type: 'shell', dependsOn: ['transform'], command: 'echo loaded', env: { GREETING: 'hi' } },
        ],
      },
    ],
    ['a definition with every field', rich],
    ['a minimal definition', { name: 'min', tasks: [{ key: 'x', type: 'noop' }] }],
    [
      'a definition with an SLA and task deadlines',
      {
        name: 'nightly',
        sla: {
          finishBy: '06:00+1d',
          startBy: '01:30+1d',
          maxDuration: '3h',
          warnBefore: '45m',
          timezone: 'Asia/Shanghai',
        },
        tasks: [
          { key: 'x', type: 'noop', maxDuration: '20m' },
          { key: 'y', type: 'noop', dependsOn: ['x'] },
        ],
      },
    ],
  ])('reads back to the same definition: %s', (_what, input) => {
    const def = parsed(input);
    expect(parsed(jobDefinitionSource(def))).toEqual(def);
  });

  it('leaves defaults out and writes durations and instants as a person does', () => {
    const src = jobDefinitionSource(parsed(rich));
    expect(jobDefinitionSource(parsed({ name: 'min', tasks: [{ key: 'x', type: 'noop' }] }))).toEqual({
      name: 'min',
      tasks: [{ key: 'x', type: 'noop' }],
    });
    const tasks = src.tasks as Array<Record<string, unknown>>;
    expect(tasks[0]).toMatchObject({ timeout: '1h30m' });
    expect(tasks[1]!.http).toEqual({
      method: 'POST',
      url: 'https://example.com/x',
      body: '{"id":1}',
      expectStatus: [200, 202],
    });
    expect((src.triggers as unknown[])[3]).toEqual({ type: 'once', at: '2026-12-24T18:00:00.500Z' });
    expect(src.bizDateOffset).toBe('2h');
  });
});
