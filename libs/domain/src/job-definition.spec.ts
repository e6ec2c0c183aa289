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
        maxActiveTasks: null,
        bizDateOffsetMs: 86_400_000,
        tasks: [
          {
            key: 'extract',
            type: 'noop',
            command: null,
            script: null,
            http: null,
            sql: null,
            env: {},
            dependsOn: [],
            triggerRule: 'all_success',
            when: null,
            retry: { maxAttempts: 1, backoff: 'fixed', delayMs: 10_000, maxDelayMs: 3_600_000, jitter: 0, retryOn: [] },
            timeoutMs: 0,
            priority: 0,
            agentSelector: {},
            pool: null,
            poolSlots: 1,
            idempotent: false,
            retryOnLost: false,
            resources: { cpuMillis: 0, memoryMb: 0 },
            compensate: null,
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
    const defaults = { misfire: 'fire_once', catchUpLimit: 10, overlap: 'allow' };
    expect(result.value.triggers).toEqual([
      { type: 'cron', cron: '0 0 2 1 * *', timezone: 'Europe/Berlin', enabled: true, ...defaults },
      { type: 'cron', cron: '*/5 * * * *', timezone: 'UTC', enabled: false, ...defaults },
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
      'a pool name with capitals',
      withTask({ pool: 'ETL' }, 1),
      [{ path: 'tasks[1].pool', message: 'must be a pool name: lower-case letters, digits, _ . -' }],
    ],
    [
      'pool slots without a pool',
      withTask({ poolSlots: 2 }, 1),
      [{ path: 'tasks[1].poolSlots', message: 'needs a pool' }],
    ],
    [
      'zero pool slots',
      withTask({ pool: 'etl', poolSlots: 0 }, 1),
      [{ path: 'tasks[1].poolSlots', message: 'must be at least 1' }],
    ],
    [
      'bad task type',
      withTask({ type: 'python' }, 1),
      [{ path: 'tasks[1].type', message: 'must be one of shell, noop, http, script, sql' }],
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
      { ...minimal, triggers: [{ type: 'sftp', cron: '* * * * *' }] },
      [
        {
          path: 'triggers[0].type',
          message: 'must be one of cron, fixedRate, fixedDelay, once, webhook, dependency, event, file',
        },
      ],
    ],
    [
      'a file trigger with a relative path',
      { ...minimal, triggers: [{ type: 'file', path: 'in/*.csv' }] },
      [
        {
          path: 'triggers[0].path',
          message: 'must be an absolute path with * or ? only in the file name, e.g. /data/in/*.csv',
        },
      ],
    ],
    [
      'a file trigger with a wildcard folder',
      { ...minimal, triggers: [{ type: 'file', path: '/data/*/x.csv' }] },
      [
        {
          path: 'triggers[0].path',
          message: 'must be an absolute path with * or ? only in the file name, e.g. /data/in/*.csv',
        },
      ],
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

describe('parseJobDefinition: jobs and triggers', () => {
  const triggerDefaults = { enabled: true, misfire: 'fire_once', catchUpLimit: 10, overlap: 'allow' };

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['maxActiveTasks', { maxActiveTasks: 4 }, { maxActiveTasks: 4, maxActiveRuns: null }],
    ['bizDateOffset', { bizDateOffset: '6h' }, { bizDateOffsetMs: 21_600_000 }],
    ['bizDateOffset zero', { bizDateOffset: 0 }, { bizDateOffsetMs: 0 }],
    [
      'an SLA by the clock in a zone, with a warning',
      { sla: { finishBy: '06:00+1d', warnBefore: '30m', timezone: 'Asia/Shanghai' } },
      {
        sla: {
          timezone: 'Asia/Shanghai',
          finishBy: { days: 1, hour: 6, minute: 0 },
          startBy: null,
          maxDurationMs: null,
          warnBeforeMs: 1_800_000,
        },
      },
    ],
    [
      'an SLA by duration and start time, in UTC by default',
      { sla: { maxDuration: '2h', startBy: '01:00' } },
      {
        sla: {
          timezone: 'UTC',
          finishBy: null,
          startBy: { days: 0, hour: 1, minute: 0 },
          maxDurationMs: 7_200_000,
          warnBeforeMs: 0,
        },
      },
    ],
    [
      'cron with every option',
      {
        triggers: [{ type: 'cron', cron: '@daily', misfire: 'catch_up', catchUpLimit: 50, overlap: 'cancel_previous' }],
      },
      {
        triggers: [
          {
            type: 'cron',
            cron: '@daily',
            timezone: 'UTC',
            enabled: true,
            misfire: 'catch_up',
            catchUpLimit: 50,
            overlap: 'cancel_previous',
          },
        ],
      },
    ],
    [
      'fixedRate with startAt',
      { triggers: [{ type: 'fixedRate', every: '15m', startAt: '2026-01-01T00:00:00+01:00' }] },
      {
        triggers: [{ type: 'fixedRate', everyMs: 900_000, startAt: Date.UTC(2025, 11, 31, 23), ...triggerDefaults }],
      },
    ],
    [
      'fixedRate without startAt',
      { triggers: [{ type: 'fixedRate', every: 1 }] },
      { triggers: [{ type: 'fixedRate', everyMs: 1000, startAt: null, ...triggerDefaults }] },
    ],
    [
      'fixedDelay',
      { triggers: [{ type: 'fixedDelay', delay: 30, misfire: 'skip', overlap: 'queue' }] },
      {
        triggers: [
          { type: 'fixedDelay', delayMs: 30_000, enabled: true, misfire: 'skip', catchUpLimit: 10, overlap: 'queue' },
        ],
      },
    ],
    [
      'once',
      { triggers: [{ type: 'once', at: '2026-05-01T12:00Z', enabled: false }] },
      { triggers: [{ type: 'once', at: Date.UTC(2026, 4, 1, 12), ...triggerDefaults, enabled: false }] },
    ],
    [
      'webhook',
      { triggers: [{ type: 'webhook', params: { order: '{{ body.order.id }}' }, overlap: 'skip' }] },
      {
        triggers: [{ type: 'webhook', params: { order: '{{ body.order.id }}' }, ...triggerDefaults, overlap: 'skip' }],
      },
    ],
    ['webhook without params', { triggers: [{ type: 'webhook' }] }, { triggers: [{ type: 'webhook', params: {} }] }],
    [
      'dependency',
      { triggers: [{ type: 'dependency', jobs: ['x', 'y'], within: '6h' }] },
      { triggers: [{ type: 'dependency', jobs: ['x', 'y'], withinMs: 21_600_000, ...triggerDefaults }] },
    ],
    [
      'event',
      {
        triggers: [
          {
            type: 'event',
            topic: 'tenant.acme.orders',
            filter: 'value.amount > 100',
            params: { id: '{{ value.id }}' },
            dedupeKey: '{{ value.id }}',
          },
        ],
      },
      {
        triggers: [
          {
            type: 'event',
            topic: 'tenant.acme.orders',
            filter: 'value.amount > 100',
            params: { id: '{{ value.id }}' },
            dedupeKey: '{{ value.id }}',
            ...triggerDefaults,
          },
        ],
      },
    ],
    [
      'event with defaults',
      { triggers: [{ type: 'event', topic: 'tenant.acme.orders' }] },
      { triggers: [{ type: 'event', topic: 'tenant.acme.orders', filter: null, params: {}, dedupeKey: null }] },
    ],
  ])('accepts %s', (_name, patch, expected) => {
    const result = parseJobDefinition({ ...minimal, ...patch });
    expect(result.ok && result.value).toMatchObject(expected);
  });

  const durationError = 'must be a non-negative duration such as "30s", "5m", "1h30m" or a number of seconds';
  const instantError = 'must be an ISO 8601 instant with a zone, e.g. "2026-01-31T02:00:00Z"';

  it.each<[string, Record<string, unknown>, FieldError[]]>([
    ['maxActiveTasks zero', { maxActiveTasks: 0 }, [{ path: 'maxActiveTasks', message: 'must be at least 1' }]],
    [
      'maxActiveTasks fractional',
      { maxActiveTasks: 1.5 },
      [{ path: 'maxActiveTasks', message: 'Invalid input: expected int, received number' }],
    ],
    ['bad bizDateOffset', { bizDateOffset: 'tomorrow' }, [{ path: 'bizDateOffset', message: durationError }]],
    ['an empty SLA', { sla: {} }, [{ path: 'sla', message: 'needs finishBy, startBy or maxDuration' }]],
    [
      'an SLA time that is not a wall time',
      { sla: { finishBy: '6am tomorrow' } },
      [
        {
          path: 'sla.finishBy',
          message: 'must be a wall-clock time HH:MM, optionally +Nd (days after the logical date), such as "06:00+1d"',
        },
      ],
    ],
    [
      'an SLA warning that is not a duration',
      { sla: { maxDuration: '1h', warnBefore: 'soon' } },
      [{ path: 'sla.warnBefore', message: durationError }],
    ],
    [
      'an SLA in an unknown zone',
      { sla: { finishBy: '06:00', timezone: 'Mars/Olympus' } },
      [
        {
          path: 'sla.timezone',
          message: 'unknown time zone "Mars/Olympus" (expected an IANA name such as "Europe/Berlin" or "UTC")',
        },
      ],
    ],
    [
      'an unknown SLA field',
      { sla: { finishBy: '06:00', deadline: '07:00' } },
      [{ path: 'sla.deadline', message: 'unknown field' }],
    ],
    [
      "a task's maxDuration that is not a duration",
      { tasks: [{ key: 'a', type: 'noop', maxDuration: 'long' }] },
      [{ path: 'tasks[0].maxDuration', message: durationError }],
    ],
    [
      'fixedRate below a second',
      { triggers: [{ type: 'fixedRate', every: '500ms' }] },
      [{ path: 'triggers[0].every', message: 'must be at least 1s' }],
    ],
    [
      'fixedRate without every',
      { triggers: [{ type: 'fixedRate' }] },
      [{ path: 'triggers[0].every', message: 'required' }],
    ],
    [
      'fixedRate startAt without a zone',
      { triggers: [{ type: 'fixedRate', every: '1h', startAt: '2026-01-01T00:00:00' }] },
      [{ path: 'triggers[0].startAt', message: instantError }],
    ],
    [
      'fixedDelay bad delay',
      { triggers: [{ type: 'fixedDelay', delay: -1 }] },
      [{ path: 'triggers[0].delay', message: durationError }],
    ],
    [
      'fixedDelay with a cron field',
      { triggers: [{ type: 'fixedDelay', delay: '1m', cron: '* * * * *' }] },
      [{ path: 'triggers[0].cron', message: 'unknown field' }],
    ],
    ['once without at', { triggers: [{ type: 'once' }] }, [{ path: 'triggers[0].at', message: 'required' }]],
    [
      'once at an impossible date',
      { triggers: [{ type: 'once', at: '2026-02-30T00:00:00Z' }] },
      [{ path: 'triggers[0].at', message: instantError }],
    ],
    [
      'trigger without type',
      { triggers: [{ cron: '* * * * *' }] },
      [
        {
          path: 'triggers[0].type',
          message: 'must be one of cron, fixedRate, fixedDelay, once, webhook, dependency, event, file',
        },
      ],
    ],
    [
      'webhook mapping over an unknown root',
      { triggers: [{ type: 'webhook', params: { id: '{{ value.id }}' } }] },
      [
        {
          path: 'triggers[0].params.id',
          message: 'invalid mapping: unknown variable "value" (expected one of body, headers)',
        },
      ],
    ],
    [
      'webhook with a misfire policy',
      { triggers: [{ type: 'webhook', misfire: 'skip' }] },
      [{ path: 'triggers[0].misfire', message: 'unknown field' }],
    ],
    [
      'dependency without jobs',
      { triggers: [{ type: 'dependency', jobs: [] }] },
      [{ path: 'triggers[0].jobs', message: 'needs at least one job' }],
    ],
    [
      'dependency on itself',
      { triggers: [{ type: 'dependency', jobs: ['other', 'nightly-etl'] }] },
      [{ path: 'triggers[0].jobs', message: 'must not list the job itself' }],
    ],
    [
      'event on a topic outside the tenant namespace',
      { triggers: [{ type: 'event', topic: 'baton.run-events' }] },
      [{ path: 'triggers[0].topic', message: 'must be a topic named tenant.<tenant name>.<name>' }],
    ],
    [
      'event with a non-boolean filter',
      { triggers: [{ type: 'event', topic: 'tenant.acme.orders', filter: '1 + 2' }] },
      [{ path: 'triggers[0].filter', message: 'invalid filter: must be a boolean expression, got int' }],
    ],
    [
      'bad misfire',
      { triggers: [{ type: 'cron', cron: '@hourly', misfire: 'later' }] },
      [{ path: 'triggers[0].misfire', message: 'must be one of fire_once, catch_up, skip' }],
    ],
    [
      'catchUpLimit zero',
      { triggers: [{ type: 'once', at: '2026-01-01T00:00:00Z', catchUpLimit: 0 }] },
      [{ path: 'triggers[0].catchUpLimit', message: 'must be between 1 and 1000' }],
    ],
    [
      'catchUpLimit above 1000',
      { triggers: [{ type: 'fixedRate', every: '1m', catchUpLimit: 1001 }] },
      [{ path: 'triggers[0].catchUpLimit', message: 'must be between 1 and 1000' }],
    ],
    [
      'bad overlap',
      { triggers: [{ type: 'fixedDelay', delay: '1m', overlap: 'replace' }] },
      [{ path: 'triggers[0].overlap', message: 'must be one of allow, skip, queue, cancel_previous' }],
    ],
  ])('rejects %s', (_name, patch, expected) => {
    expect(parseJobDefinition({ ...minimal, ...patch })).toEqual({ ok: false, errors: expected });
  });
});

describe('parseJobDefinition: task types, conditions and compensation', () => {
  const retryDefaults = {
    maxAttempts: 1,
    backoff: 'fixed',
    delayMs: 10_000,
    maxDelayMs: 3_600_000,
    jitter: 0,
    retryOn: [],
  };

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['a condition', { when: 'params.region == "eu"' }, { when: 'params.region == "eu"' }],
    [
      'a script task',
      { type: 'script', command: undefined, script: { body: 'echo {{ biz_date }}' } },
      { type: 'script', command: null, script: { interpreter: 'bash', body: 'echo {{ biz_date }}' } },
    ],
    [
      'a python script',
      { type: 'script', command: undefined, script: { interpreter: 'python3', body: 'print(1)' } },
      { script: { interpreter: 'python3', body: 'print(1)' } },
    ],
    [
      'a sql task with defaults',
      { type: 'sql', command: undefined, sql: { driver: 'postgres', url: 'postgres://u@db/x', statement: 'select 1' } },
      {
        type: 'sql',
        sql: { driver: 'postgres', url: 'postgres://u@db/x', statement: 'select 1', params: [], maxRows: 100 },
      },
    ],
    [
      'a sql task with every field',
      {
        type: 'sql',
        command: undefined,
        sql: {
          driver: 'mysql',
          url: '{{ params.dsn }}',
          statement: "delete from t where day = '{{ biz_date }}' and id > ?",
          params: [7, 'x'],
          maxRows: 10_000,
        },
      },
      {
        sql: {
          driver: 'mysql',
          url: '{{ params.dsn }}',
          statement: "delete from t where day = '{{ biz_date }}' and id > ?",
          params: [7, 'x'],
          maxRows: 10_000,
        },
      },
    ],
    ['retryOnLost', { retryOnLost: true }, { retryOnLost: true }],
    ['partial resources', { resources: { cpuMillis: 500 } }, { resources: { cpuMillis: 500, memoryMb: 0 } }],
    [
      'full resources',
      { resources: { cpuMillis: 0, memoryMb: 2048 } },
      { resources: { cpuMillis: 0, memoryMb: 2048 } },
    ],
    [
      'templates in command and env',
      { command: 'load.sh {{ params.day | default("today") }}', env: { DAY: '{{ biz_date | date("YYYYMMDD") }}' } },
      { command: 'load.sh {{ params.day | default("today") }}', env: { DAY: '{{ biz_date | date("YYYYMMDD") }}' } },
    ],
    [
      'a compensation',
      { compensate: { type: 'shell', command: './undo.sh {{ run_id }}', timeout: '5m', retry: { maxAttempts: 3 } } },
      {
        compensate: {
          type: 'shell',
          command: './undo.sh {{ run_id }}',
          script: null,
          http: null,
          sql: null,
          env: {},
          timeoutMs: 300_000,
          retry: { ...retryDefaults, maxAttempts: 3 },
        },
      },
    ],
    [
      'an http compensation',
      { compensate: { type: 'http', http: { method: 'delete', url: 'https://x.test/{{ run_id }}' } } },
      {
        compensate: {
          type: 'http',
          command: null,
          http: { method: 'DELETE', url: 'https://x.test/{{ run_id }}', headers: {}, body: null, expectStatus: [] },
          timeoutMs: 0,
          retry: retryDefaults,
        },
      },
    ],
  ])('accepts %s', (_name, patch, expected) => {
    const result = parseJobDefinition(withTask(patch));
    expect(result.ok && result.value.tasks[0]).toMatchObject(expected);
  });

  it.each<[string, Record<string, unknown>, FieldError[]]>([
    [
      'a condition with a syntax error',
      { when: 'params.x ==' },
      [{ path: 'tasks[0].when', message: 'invalid condition: Unexpected token: EOF (column 12)' }],
    ],
    [
      'a condition over an unknown variable',
      { when: 'region == "eu"' },
      [{ path: 'tasks[0].when', message: 'invalid condition: Unknown variable: region (column 1)' }],
    ],
    [
      'a condition that is not boolean',
      { when: 'env' },
      [{ path: 'tasks[0].when', message: 'invalid condition: must be a boolean expression, got string' }],
    ],
    [
      'a script task without script',
      { type: 'script', command: undefined },
      [{ path: 'tasks[0].script', message: 'required for script tasks' }],
    ],
    [
      'script on a shell task',
      { script: { body: 'echo' } },
      [{ path: 'tasks[0].script', message: 'not allowed for shell tasks' }],
    ],
    [
      'an empty script body',
      { type: 'script', command: undefined, script: { body: '' } },
      [{ path: 'tasks[0].script.body', message: 'must not be empty' }],
    ],
    [
      'a bad interpreter',
      { type: 'script', command: undefined, script: { interpreter: 'ruby', body: 'puts 1' } },
      [{ path: 'tasks[0].script.interpreter', message: 'must be one of bash, sh, node, python3' }],
    ],
    [
      'a sql task without sql',
      { type: 'sql', command: undefined },
      [{ path: 'tasks[0].sql', message: 'required for sql tasks' }],
    ],
    [
      'a bad sql driver',
      { type: 'sql', command: undefined, sql: { driver: 'oracle', url: 'x', statement: 'select 1' } },
      [{ path: 'tasks[0].sql.driver', message: 'must be one of mysql, postgres' }],
    ],
    [
      'a sql task without statement',
      { type: 'sql', command: undefined, sql: { driver: 'mysql', url: 'mysql://db/x' } },
      [{ path: 'tasks[0].sql.statement', message: 'required' }],
    ],
    [
      'sql maxRows zero',
      { type: 'sql', command: undefined, sql: { driver: 'mysql', url: 'mysql://db/x', statement: 's', maxRows: 0 } },
      [{ path: 'tasks[0].sql.maxRows', message: 'must be between 1 and 10000' }],
    ],
    [
      'sql params not a list',
      { type: 'sql', command: undefined, sql: { driver: 'mysql', url: 'mysql://db/x', statement: 's', params: {} } },
      [{ path: 'tasks[0].sql.params', message: 'Invalid input: expected array, received object' }],
    ],
    [
      'sql on a noop task',
      { type: 'noop', command: undefined, sql: { driver: 'mysql', url: 'mysql://db/x', statement: 's' } },
      [{ path: 'tasks[0].sql', message: 'not allowed for noop tasks' }],
    ],
    [
      'negative resources',
      { resources: { cpuMillis: -1 } },
      [{ path: 'tasks[0].resources.cpuMillis', message: 'must not be negative' }],
    ],
    ['unknown resource', { resources: { gpus: 1 } }, [{ path: 'tasks[0].resources.gpus', message: 'unknown field' }]],
    [
      'retryOnLost not a boolean',
      { retryOnLost: 'yes' },
      [{ path: 'tasks[0].retryOnLost', message: 'Invalid input: expected boolean, received string' }],
    ],
    [
      'a compensation with a key',
      { compensate: { key: 'undo', type: 'noop' } },
      [{ path: 'tasks[0].compensate.key', message: 'unknown field' }],
    ],
    [
      'a compensation with dependencies, a condition and its own compensation',
      { compensate: { type: 'noop', dependsOn: ['load'], when: 'true', compensate: { type: 'noop' } } },
      [
        { path: 'tasks[0].compensate.dependsOn', message: 'unknown field' },
        { path: 'tasks[0].compensate.when', message: 'unknown field' },
        { path: 'tasks[0].compensate.compensate', message: 'unknown field' },
      ],
    ],
    [
      'a shell compensation without command',
      { compensate: { type: 'shell' } },
      [{ path: 'tasks[0].compensate.command', message: 'required for shell tasks' }],
    ],
    [
      'an http compensation with a command',
      { compensate: { type: 'http', command: 'curl x' } },
      [
        { path: 'tasks[0].compensate.command', message: 'not allowed for http tasks' },
        { path: 'tasks[0].compensate.http', message: 'required for http tasks' },
      ],
    ],
    [
      'a compensation with a bad retry',
      { compensate: { type: 'noop', retry: { delay: '1m', maxDelay: '1s' } } },
      [{ path: 'tasks[0].compensate.retry.maxDelay', message: 'must not be shorter than retry.delay' }],
    ],
  ])('rejects %s', (_name, patch, expected) => {
    expect(parseJobDefinition(withTask(patch))).toEqual({ ok: false, errors: expected });
  });

  const sqlTask = { type: 'sql', command: undefined };
  const sql = { driver: 'mysql', url: 'mysql://db/x', statement: 'select 1' };

  it.each<[string, Record<string, unknown>, number, string, string]>([
    ['command', { command: 'echo {{ params.x' }, 0, 'tasks[0].command', 'unclosed "{{" at offset 5'],
    [
      'env value',
      { env: { MODE: '{{ mode }}' } },
      0,
      'tasks[0].env.MODE',
      'unknown variable "mode" (expected execution_date, biz_date, env, run_id, job, params.*, tasks.<key>.output.*, secrets.<NAME>) in {{ mode }}',
    ],
    [
      'http url',
      { type: 'http', command: undefined, http: { url: 'https://x.test/{{ run_id | slug }}' } },
      0,
      'tasks[0].http.url',
      'unknown filter "slug" (expected one of date, add_days, add_hours, add_minutes, default, json, upper, lower, trim) in {{ run_id | slug }}',
    ],
    [
      'http header',
      {
        type: 'http',
        command: undefined,
        http: { url: 'https://x.test', headers: { 'X-Day': '{{ biz_date | add_days }}' } },
      },
      0,
      'tasks[0].http.headers["X-Day"]',
      'add_days takes 1 argument(s), got 0 in {{ biz_date | add_days }}',
    ],
    [
      'http body object',
      {
        type: 'http',
        command: undefined,
        http: { url: 'https://x.test', body: { day: "{{ biz_date | add_days('1') }}" } },
      },
      0,
      'tasks[0].http.body',
      "argument 1 of add_days must be an integer in {{ biz_date | add_days('1') }}",
    ],
    [
      'sql url',
      { ...sqlTask, sql: { ...sql, url: '{{ params.dsn' } },
      0,
      'tasks[0].sql.url',
      'unclosed "{{" at offset 0',
    ],
    [
      'sql statement',
      { ...sqlTask, sql: { ...sql, statement: "select '{{ tasks.a }}'" } },
      0,
      'tasks[0].sql.statement',
      'expected tasks.<key>.output or a field of it, got tasks.a in {{ tasks.a }}',
    ],
    [
      'script body',
      { type: 'script', command: undefined, script: { body: 'echo {{ env.name }}' } },
      0,
      'tasks[0].script.body',
      'env is a string and has no fields in {{ env.name }}',
    ],
    [
      'compensation command',
      { compensate: { type: 'shell', command: 'undo {{ params.x | date("YYYY", "Mars/Base") }}' } },
      1,
      'tasks[1].compensate.command',
      'date: unknown time zone "Mars/Base" (expected an IANA name such as "Europe/Berlin" or "UTC") in {{ params.x | date("YYYY", "Mars/Base") }}',
    ],
  ])('rejects a bad template in the %s', (_name, patch, index, path, reason) => {
    expect(parseJobDefinition(withTask(patch, index))).toEqual({
      ok: false,
      errors: [{ path, message: `invalid template: ${reason}` }],
    });
  });
});
