import { describe, expect, it } from 'vitest';

import type { FieldError } from './errors.js';
import { parseJobDefinition } from './job-definition.js';

const minimal = { name: 'nightly-etl', tasks: [{ key: 'extract', type: 'noop' }] };

/** A valid definition with `patch` applied to the task at `index`. */
function withTask(patch: Record<string, unknown>, index = 0): Record<string, unknown> {
  const tasks: Record<string, unknown>[] = [
    { key: 'extract', type: 'shell', command: 'echo extract' },
    { key: 'load', type: 'shell', command: 'echo load', dependsOn: ['extract'] },
  ];
  tasks[index] = { ...tasks[index], ...patch };
  return { name: 'etl', tasks };
}

describe('parseJobDefinition: accepted definitions', () => {
  it('fills in every default', () => {
    expect(parseJobDefinition(minimal)).toEqual({
      ok: true,
      value: {
        name: 'nightly-etl',
        description: null,
        params: {},
        triggers: [],
        maxActiveRuns: null,
        tasks: [
          {
            key: 'extract',
            type: 'noop',
            command: null,
            env: {},
            dependsOn: [],
            triggerRule: 'all_success',
            retry: { maxAttempts: 1, backoff: 'fixed', delayMs: 10_000, maxDelayMs: 3_600_000, jitter: 0, retryOn: [] },
            timeoutMs: 0,
            priority: 0,
            agentSelector: {},
            idempotent: false,
            http: null,
          },
        ],
      },
    });
  });

  it('keeps every field it is given', () => {
    const result = parseJobDefinition({
      name: 'billing.v2',
      description: 'monthly invoices',
      params: { region: 'eu', dryRun: false },
      triggers: [
        { type: 'cron', cron: '0 0 2 1 * *', timezone: 'Europe/Berlin' },
        { type: 'cron', cron: '*/5 * * * *', enabled: false },
      ],
      maxActiveRuns: 2,
      tasks: [
        {
          key: 'fetch',
          type: 'http',
          http: {
            method: 'post',
            url: 'https://api.example.com/x',
            headers: { Accept: 'json' },
            body: { a: 1 },
            expectStatus: [200, 202],
          },
          retry: { maxAttempts: 5, backoff: 'exponential', delay: '30s', maxDelay: '10m', jitter: 0.2, retryOn: [75] },
          timeout: '1h30m',
          priority: 10,
          agentSelector: { zone: 'eu-1' },
          idempotent: true,
        },
        {
          key: 'bill',
          type: 'shell',
          command: './bill.sh',
          env: { MODE: 'live' },
          dependsOn: ['fetch'],
          triggerRule: 'none_failed',
          timeout: 90,
        },
      ],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.triggers).toEqual([
      { type: 'cron', cron: '0 0 2 1 * *', timezone: 'Europe/Berlin', enabled: true },
      { type: 'cron', cron: '*/5 * * * *', timezone: 'UTC', enabled: false },
    ]);
    expect(result.value.tasks[0]).toMatchObject({
      retry: {
        maxAttempts: 5,
        backoff: 'exponential',
        delayMs: 30_000,
        maxDelayMs: 600_000,
        jitter: 0.2,
        retryOn: [75],
      },
      timeoutMs: 5_400_000,
      priority: 10,
      idempotent: true,
      http: {
        method: 'POST',
        url: 'https://api.example.com/x',
        headers: { Accept: 'json' },
        body: '{"a":1}',
        expectStatus: [200, 202],
      },
    });
    expect(result.value.tasks[1]).toMatchObject({
      env: { MODE: 'live' },
      dependsOn: ['fetch'],
      triggerRule: 'none_failed',
      timeoutMs: 90_000,
    });
    expect(result.value).toMatchObject({
      description: 'monthly invoices',
      maxActiveRuns: 2,
      params: { region: 'eu', dryRun: false },
    });
  });

  it('raises the default cap for a long retry delay', () => {
    const result = parseJobDefinition(withTask({ retry: { delay: '2h' } }));
    expect(result.ok && result.value.tasks[0]!.retry).toMatchObject({ delayMs: 7_200_000, maxDelayMs: 7_200_000 });
  });

  it('accepts a templated http url', () => {
    const def = { name: 'x', tasks: [{ key: 'a', type: 'http', http: { url: '{{ params.base }}/ping' } }] };
    expect(parseJobDefinition(def).ok).toBe(true);
  });
});

describe('parseJobDefinition: rejected definitions', () => {
  const manyTasks = Array.from({ length: 10_001 }, (_, i) => ({ key: `t${i}`, type: 'noop' }));

  it.each<[string, unknown, FieldError[]]>([
    ['not an object', 'hello', [{ path: '', message: 'Invalid input: expected object, received string' }]],
    ['missing name', { tasks: minimal.tasks }, [{ path: 'name', message: 'required' }]],
    [
      'bad name',
      { ...minimal, name: 'Nightly ETL' },
      [
        {
          path: 'name',
          message:
            'must match ^[a-z0-9][a-z0-9_.-]{0,99}$ (lowercase letters, digits, "_", "." or "-"; at most 100 characters)',
        },
      ],
    ],
    ['unknown top-level field', { ...minimal, owner: 'me' }, [{ path: 'owner', message: 'unknown field' }]],
    ['no tasks', { name: 'x', tasks: [] }, [{ path: 'tasks', message: 'a job needs at least one task' }]],
    ['too many tasks', { name: 'x', tasks: manyTasks }, [{ path: 'tasks', message: 'a job has at most 10000 tasks' }]],
    [
      'maxActiveRuns zero',
      { ...minimal, maxActiveRuns: 0 },
      [{ path: 'maxActiveRuns', message: 'must be at least 1' }],
    ],
    [
      'bad task type',
      withTask({ type: 'python' }, 1),
      [{ path: 'tasks[1].type', message: 'must be one of shell, noop, http' }],
    ],
    [
      'bad task key',
      withTask({ key: '-x' }),
      [
        {
          path: 'tasks[0].key',
          message: 'must be 1-100 letters, digits, "_", "." or "-", not starting with "." or "-"',
        },
      ],
    ],
    ['unknown task field', withTask({ retries: 3 }, 1), [{ path: 'tasks[1].retries', message: 'unknown field' }]],
    [
      'bad backoff',
      withTask({ retry: { backoff: 'linear' } }, 1),
      [
        {
          path: 'tasks[1].retry.backoff',
          message: 'Invalid option: expected one of "immediate"|"fixed"|"exponential"',
        },
      ],
    ],
    [
      'maxAttempts zero',
      withTask({ retry: { maxAttempts: 0 } }),
      [{ path: 'tasks[0].retry.maxAttempts', message: 'must be at least 1' }],
    ],
    [
      'maxAttempts above 100',
      withTask({ retry: { maxAttempts: 101 } }),
      [{ path: 'tasks[0].retry.maxAttempts', message: 'must be at most 100' }],
    ],
    [
      'jitter above 1',
      withTask({ retry: { jitter: 1.5 } }),
      [{ path: 'tasks[0].retry.jitter', message: 'must be between 0 and 1' }],
    ],
    [
      'unknown retry field',
      withTask({ retry: { attempts: 3 } }),
      [{ path: 'tasks[0].retry.attempts', message: 'unknown field' }],
    ],
    [
      'bad duration',
      withTask({ timeout: '5 minutes' }),
      [
        {
          path: 'tasks[0].timeout',
          message: 'must be a non-negative duration such as "30s", "5m", "1h30m" or a number of seconds',
        },
      ],
    ],
    [
      'negative retry delay',
      withTask({ retry: { delay: -3 } }, 1),
      [
        {
          path: 'tasks[1].retry.delay',
          message: 'must be a non-negative duration such as "30s", "5m", "1h30m" or a number of seconds',
        },
      ],
    ],
    [
      'cap below the delay',
      withTask({ retry: { delay: '1m', maxDelay: '10s' } }),
      [{ path: 'tasks[0].retry.maxDelay', message: 'must not be shorter than retry.delay' }],
    ],
    [
      'bad trigger rule',
      withTask({ triggerRule: 'any' }, 1),
      [
        {
          path: 'tasks[1].triggerRule',
          message: 'must be one of all_success, all_done, one_success, one_failed, all_failed, none_failed',
        },
      ],
    ],
    [
      'shell without command',
      withTask({ command: undefined }),
      [{ path: 'tasks[0].command', message: 'required for shell tasks' }],
    ],
    [
      'command on a noop',
      withTask({ type: 'noop' }),
      [{ path: 'tasks[0].command', message: 'not allowed for noop tasks' }],
    ],
    [
      'http without http',
      { name: 'x', tasks: [{ key: 'a', type: 'http' }] },
      [{ path: 'tasks[0].http', message: 'required for http tasks' }],
    ],
    [
      'http on a shell task',
      withTask({ http: { url: 'https://x.test' } }),
      [{ path: 'tasks[0].http', message: 'not allowed for shell tasks' }],
    ],
    [
      'non-http url',
      { name: 'x', tasks: [{ key: 'a', type: 'http', http: { url: 'ftp://x.test/f' } }] },
      [{ path: 'tasks[0].http.url', message: 'must be an absolute http(s) URL' }],
    ],
    [
      'bad http method',
      { name: 'x', tasks: [{ key: 'a', type: 'http', http: { url: 'https://x.test', method: 'FETCH' } }] },
      [{ path: 'tasks[0].http.method', message: 'must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' }],
    ],
    [
      'bad expected status',
      { name: 'x', tasks: [{ key: 'a', type: 'http', http: { url: 'https://x.test', expectStatus: [200, 700] } }] },
      [{ path: 'tasks[0].http.expectStatus[1]', message: 'must be an HTTP status 100..599' }],
    ],
    [
      'non-string env value',
      withTask({ env: { PORT: 8080 } }),
      [{ path: 'tasks[0].env.PORT', message: 'Invalid input: expected string, received number' }],
    ],
    [
      'bad env name',
      withTask({ env: { 'MY-VAR': 'x' } }),
      [{ path: 'tasks[0].env["MY-VAR"]', message: 'invalid key: invalid environment variable name' }],
    ],
    [
      'priority not an integer',
      withTask({ priority: 1.5 }),
      [{ path: 'tasks[0].priority', message: 'Invalid input: expected int, received number' }],
    ],
    [
      'duplicate task key',
      withTask({ key: 'extract' }, 1),
      [
        { path: 'tasks[1].key', message: 'duplicate task key "extract" (also tasks[0])' },
        { path: 'tasks[1].dependsOn[0]', message: 'task "extract" depends on itself' },
      ],
    ],
    [
      'unknown dependency',
      withTask({ dependsOn: ['transform'] }, 1),
      [{ path: 'tasks[1].dependsOn[0]', message: 'unknown task "transform"' }],
    ],
    [
      'cycle',
      withTask({ dependsOn: ['load'] }),
      [{ path: 'tasks[0].dependsOn', message: 'cycle: extract -> load -> extract' }],
    ],
    [
      'bad cron',
      { ...minimal, triggers: [{ type: 'cron', cron: '0 0 25 * * *' }] },
      [{ path: 'triggers[0].cron', message: 'hour: 25 is out of range 0-23' }],
    ],
    [
      'bad time zone',
      {
        ...minimal,
        triggers: [
          { type: 'cron', cron: '0 0 * * *' },
          { type: 'cron', cron: '0 0 * * *', timezone: 'CEST+1' },
        ],
      },
      [
        {
          path: 'triggers[1].timezone',
          message: 'unknown time zone "CEST+1" (expected an IANA name such as "Europe/Berlin" or "UTC")',
        },
      ],
    ],
    [
      'unsupported trigger type',
      { ...minimal, triggers: [{ type: 'webhook', cron: '* * * * *' }] },
      [{ path: 'triggers[0].type', message: 'must be "cron"' }],
    ],
    [
      'several problems at once',
      { name: 'x', extra: 1, tasks: [{ key: 'a', type: 'noop', timeout: 'soon' }, { type: 'noop' }] },
      [
        {
          path: 'tasks[0].timeout',
          message: 'must be a non-negative duration such as "30s", "5m", "1h30m" or a number of seconds',
        },
        { path: 'tasks[1].key', message: 'required' },
        { path: 'extra', message: 'unknown field' },
      ],
    ],
  ])('%s', (_name, input, expected) => {
    expect(parseJobDefinition(input)).toEqual({ ok: false, errors: expected });
  });
});
