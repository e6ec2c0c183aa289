import { z } from 'zod';

import { validateCondition } from './conditions.js';
import { validateCron, validateTimeZone } from './cron.js';
import { validateDag } from './dag.js';
import { parseDuration } from './duration.js';
import type { FieldError, ParseResult } from './errors.js';
import {
  EVENT_ROOTS,
  TENANT_TOPIC_PATTERN,
  WEBHOOK_ROOTS,
  validateEventFilter,
  validateMapping,
} from './event-triggers.js';
import { BACKOFFS, DEFAULT_RETRY_POLICY } from './retry.js';
import type { RetryPolicy } from './retry.js';
import { validateTemplate } from './templating.js';
import { type SlaSpec, parseWallTime } from './sla.js';
import { parseInstant } from './time.js';
import { TRIGGER_RULES } from './trigger-rules.js';
import type { TriggerRule } from './trigger-rules.js';

export const JOB_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,99}$/;
export const TASK_KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
export const MAX_TASKS = 10_000;
export const MAX_ATTEMPTS_LIMIT = 100;

export const TASK_TYPES = ['shell', 'noop', 'http', 'script', 'sql'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const SCRIPT_INTERPRETERS = ['bash', 'sh', 'node', 'python3'] as const;
export type ScriptInterpreter = (typeof SCRIPT_INTERPRETERS)[number];

export const SQL_DRIVERS = ['mysql', 'postgres'] as const;
export type SqlDriver = (typeof SQL_DRIVERS)[number];
export const MAX_SQL_ROWS = 10_000;

export const TRIGGER_TYPES = [
  'cron',
  'fixedRate',
  'fixedDelay',
  'once',
  'webhook',
  'dependency',
  'event',
  'file',
] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];
/** Triggers fired by the clock: they have slots (the slot ledger), and their runs measure schedule delay. */
export const TIME_TRIGGER_TYPES = ['cron', 'fixedRate', 'fixedDelay', 'once'] as const satisfies readonly TriggerType[];
/** Triggers fired by something happening rather than by the clock: they have no slots. */
export const EVENT_TRIGGER_TYPES = ['webhook', 'dependency', 'event', 'file'] as const satisfies readonly TriggerType[];
export const MAX_DEPENDENCY_JOBS = 50;

/** What a time trigger does with slots it missed (scheduler down, paused, overloaded). */
export const MISFIRE_POLICIES = ['fire_once', 'catch_up', 'skip'] as const;
export type MisfirePolicy = (typeof MISFIRE_POLICIES)[number];

/** What a trigger does when a run of the job is still active at its next slot. */
export const OVERLAP_POLICIES = ['allow', 'skip', 'queue', 'cancel_previous'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export const MAX_CATCH_UP_LIMIT = 1000;
export const DEFAULT_CATCH_UP_LIMIT = 10;
export const DEFAULT_BIZ_DATE_OFFSET_MS = 86_400_000;

/** Shared by every trigger; misfire and catchUpLimit only mean something to time triggers. */
interface TriggerOptions {
  enabled: boolean;
  misfire: MisfirePolicy;
  /** With misfire `catch_up`: how many of the missed slots still run, the latest ones. */
  catchUpLimit: number;
  overlap: OverlapPolicy;
}

export interface CronTrigger extends TriggerOptions {
  type: 'cron';
  cron: string;
  timezone: string;
}

/** Slots at `startAt + k * everyMs`; without startAt, anchored at the trigger's creation. */
export interface FixedRateTrigger extends TriggerOptions {
  type: 'fixedRate';
  everyMs: number;
  /** Epoch ms. */
  startAt: number | null;
}

/** The next run starts `delayMs` after the previous one ended. */
export interface FixedDelayTrigger extends TriggerOptions {
  type: 'fixedDelay';
  delayMs: number;
}

export interface OnceTrigger extends TriggerOptions {
  type: 'once';
  /** Epoch ms. */
  at: number;
}

/** Fired by a signed `POST /hooks/<trigger id>`; `params` map the JSON body into the run's params. */
export interface WebhookTrigger extends TriggerOptions {
  type: 'webhook';
  /** Param name -> mapping template over `body` and `headers`, e.g. `{{ body.order.id }}`. */
  params: Record<string, string>;
}

/** Runs the job for logical date D once every listed job (same tenant) has a succeeded run for D. */
export interface DependencyTrigger extends TriggerOptions {
  type: 'dependency';
  jobs: string[];
  /** The upstream successes must have finished at most this far apart; null = no limit. */
  withinMs: number | null;
}

/** Fired by a record on a Kafka topic of the tenant (`tenant.<tenant name>.*`). */
export interface EventTrigger extends TriggerOptions {
  type: 'event';
  topic: string;
  /** CEL over `key`, `headers`, `value` (and `topic`, `partition`, `offset`); null = every record. */
  filter: string | null;
  params: Record<string, string>;
  /** Mapping template of the dedupe key; null = the `event-id` header, else `<topic>/<partition>/<offset>`. */
  dedupeKey: string | null;
}

/**
 * Fired when a file appears (or changes) in a folder watched by the agents the
 * selector picks; one run per (path, size, mtime), with `params.file`.
 */
export interface FileTrigger extends TriggerOptions {
  type: 'file';
  /** Absolute path; `*` and `?` only in the last segment, e.g. `/data/in/*.csv`. */
  path: string;
  agentSelector: Record<string, string>;
}

export type TimeTriggerDefinition = CronTrigger | FixedRateTrigger | FixedDelayTrigger | OnceTrigger;
export type EventTriggerDefinition = WebhookTrigger | DependencyTrigger | EventTrigger | FileTrigger;
export type TriggerDefinition = TimeTriggerDefinition | EventTriggerDefinition;

export interface ScriptTaskSpec {
  interpreter: ScriptInterpreter;
  body: string;
}

export interface SqlTaskSpec {
  driver: SqlDriver;
  url: string;
  statement: string;
  /** Positional bind parameters. */
  params: unknown[];
  /** Rows kept as the task's output. */
  maxRows: number;
}

/** Used for placement; 0 = not declared. */
export interface TaskResources {
  cpuMillis: number;
  memoryMb: number;
}

export interface HttpTaskSpec {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  /** A JSON body given as an object is serialized here. */
  body: string | null;
  /** Empty = any 2xx. */
  expectStatus: number[];
}

/** What runs: shared by a task and its compensation. Exactly the spec of `type` is non-null. */
export interface TaskExecutionSpec {
  type: TaskType;
  command: string | null;
  script: ScriptTaskSpec | null;
  http: HttpTaskSpec | null;
  sql: SqlTaskSpec | null;
  env: Record<string, string>;
  /** 0 = no timeout. */
  timeoutMs: number;
  retry: RetryPolicy;
}

/** Runs when a succeeded task is compensated (SAGA); it has no key, dependencies or condition of its own. */
export type CompensationSpec = TaskExecutionSpec;

export interface TaskDefinition extends TaskExecutionSpec {
  key: string;
  dependsOn: string[];
  triggerRule: TriggerRule;
  /** CEL condition; false skips the task. */
  when: string | null;
  priority: number;
  agentSelector: Record<string, string>;
  /** The tenant's named pool whose slots the task draws on while it runs (Airflow's pools), or null. */
  pool: string | null;
  /** Slots of the pool the task takes (default 1). */
  poolSlots: number;
  idempotent: boolean;
  /** Whether a lost attempt may run again although the task is not idempotent. */
  retryOnLost: boolean;
  resources: TaskResources;
  compensate: CompensationSpec | null;
  /** The task's own SLA: an attempt running longer breaches it (absent when not declared). */
  maxDurationMs?: number;
}

export interface JobDefinition {
  name: string;
  description: string | null;
  params: Record<string, unknown>;
  triggers: TriggerDefinition[];
  maxActiveRuns: number | null;
  /** Per-run limit of tasks running at once. */
  maxActiveTasks: number | null;
  /** biz_date = logical date minus this. */
  bizDateOffsetMs: number;
  tasks: TaskDefinition[];
  /** The job's deadlines (absent when it declares none). */
  sla?: SlaSpec;
}

const duration = z
  .union([z.string(), z.number()], {
    error: (issue) =>
      issue.input === undefined ? 'required' : 'must be a duration such as "30s", "5m", "1h30m" or a number of seconds',
  })
  .refine((v) => parseDuration(v) !== null, {
    error: 'must be a non-negative duration such as "30s", "5m", "1h30m" or a number of seconds',
  });

const stringMap = z.record(z.string(), z.string());

function templateCheck(ctx: z.core.ParsePayload<string>): void {
  const reason = validateTemplate(ctx.value);
  if (reason) ctx.issues.push({ code: 'custom', message: `invalid template: ${reason}`, input: ctx.value });
}

const templated = z.string().check(templateCheck);
const templatedMap = z.record(z.string(), templated);
const nonEmptyTemplated = z.string().min(1, { error: 'must not be empty' }).check(templateCheck);

const instant = z.string().refine((v) => parseInstant(v) !== null, {
  error: 'must be an ISO 8601 instant with a zone, e.g. "2026-01-31T02:00:00Z"',
});

const retrySchema = z.strictObject({
  maxAttempts: z
    .int()
    .min(1, { error: 'must be at least 1' })
    .max(MAX_ATTEMPTS_LIMIT, { error: `must be at most ${MAX_ATTEMPTS_LIMIT}` })
    .optional(),
  backoff: z.enum(BACKOFFS).optional(),
  delay: duration.optional(),
  maxDelay: duration.optional(),
  jitter: z
    .number()
    .min(0, { error: 'must be between 0 and 1' })
    .max(1, { error: 'must be between 0 and 1' })
    .optional(),
  retryOn: z.array(z.int().min(0).max(255, { error: 'exit codes are 0..255' })).optional(),
});

const httpSchema = z.strictObject({
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` }))
    .optional(),
  url: z
    .string()
    .min(1, { error: 'must not be empty' })
    .refine(isHttpUrlOrTemplate, { error: 'must be an absolute http(s) URL' })
    .check(templateCheck),
  headers: templatedMap.optional(),
  body: z
    .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])
    .check((ctx) => {
      // An object body is rendered as its JSON text, so that is what has to be a valid template.
      const text = typeof ctx.value === 'string' ? ctx.value : JSON.stringify(ctx.value);
      const reason = validateTemplate(text);
      if (reason) ctx.issues.push({ code: 'custom', message: `invalid template: ${reason}`, input: ctx.value });
    })
    .optional(),
  expectStatus: z
    .array(
      z
        .int()
        .min(100, { error: 'must be an HTTP status 100..599' })
        .max(599, { error: 'must be an HTTP status 100..599' }),
    )
    .optional(),
});

const scriptSchema = z.strictObject({
  interpreter: z.enum(SCRIPT_INTERPRETERS, { error: `must be one of ${SCRIPT_INTERPRETERS.join(', ')}` }).optional(),
  body: nonEmptyTemplated,
});

const sqlSchema = z.strictObject({
  driver: z.enum(SQL_DRIVERS, { error: `must be one of ${SQL_DRIVERS.join(', ')}` }),
  url: nonEmptyTemplated,
  statement: nonEmptyTemplated,
  params: z.array(z.unknown()).optional(),
  maxRows: z
    .int()
    .min(1, { error: `must be between 1 and ${MAX_SQL_ROWS}` })
    .max(MAX_SQL_ROWS, { error: `must be between 1 and ${MAX_SQL_ROWS}` })
    .optional(),
});

const resourcesSchema = z.strictObject({
  cpuMillis: z.int().min(0, { error: 'must not be negative' }).optional(),
  memoryMb: z.int().min(0, { error: 'must not be negative' }).optional(),
});

/** The fields that say what runs; a task has them, and so has its compensation. */
const executionFields = {
  type: z.enum(TASK_TYPES, { error: `must be one of ${TASK_TYPES.join(', ')}` }),
  command: nonEmptyTemplated.optional(),
  script: scriptSchema.optional(),
  http: httpSchema.optional(),
  sql: sqlSchema.optional(),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'invalid environment variable name' }), templated)
    .optional(),
  timeout: duration.optional(),
  retry: retrySchema.optional(),
};

const compensationSchema = z.strictObject(executionFields);

/** Names of pools (`PUT /api/v1/pools/{name}`), as of jobs. */
export const POOL_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,99}$/;

const taskSchema = z.strictObject({
  key: z.string().regex(TASK_KEY_PATTERN, {
    error: 'must be 1-100 letters, digits, "_", "." or "-", not starting with "." or "-"',
  }),
  ...executionFields,
  dependsOn: z.array(z.string()).optional(),
  triggerRule: z.enum(TRIGGER_RULES, { error: `must be one of ${TRIGGER_RULES.join(', ')}` }).optional(),
  when: z
    .string()
    .check((ctx) => {
      const reason = validateCondition(ctx.value);
      if (reason) ctx.issues.push({ code: 'custom', message: `invalid condition: ${reason}`, input: ctx.value });
    })
    .optional(),
  priority: z.int().optional(),
  agentSelector: stringMap.optional(),
  pool: z
    .string()
    .regex(POOL_NAME_PATTERN, { error: 'must be a pool name: lower-case letters, digits, _ . -' })
    .optional(),
  poolSlots: z.int().min(1, { error: 'must be at least 1' }).max(10_000).optional(),
  idempotent: z.boolean().optional(),
  retryOnLost: z.boolean().optional(),
  resources: resourcesSchema.optional(),
  compensate: compensationSchema.optional(),
  maxDuration: duration.optional(),
});

const timezone = z.string().check((ctx) => {
  const reason = validateTimeZone(ctx.value);
  if (reason) ctx.issues.push({ code: 'custom', message: reason, input: ctx.value });
});

const triggerOptionFields = {
  enabled: z.boolean().optional(),
  misfire: z.enum(MISFIRE_POLICIES, { error: `must be one of ${MISFIRE_POLICIES.join(', ')}` }).optional(),
  catchUpLimit: z
    .int()
    .min(1, { error: `must be between 1 and ${MAX_CATCH_UP_LIMIT}` })
    .max(MAX_CATCH_UP_LIMIT, { error: `must be between 1 and ${MAX_CATCH_UP_LIMIT}` })
    .optional(),
  overlap: z.enum(OVERLAP_POLICIES, { error: `must be one of ${OVERLAP_POLICIES.join(', ')}` }).optional(),
};

// Event-driven triggers have no slots, so no misfire policy.
const eventTriggerOptionFields = {
  enabled: triggerOptionFields.enabled,
  overlap: triggerOptionFields.overlap,
};

function mappingCheck(roots: readonly string[]) {
  return (ctx: z.core.ParsePayload<string>): void => {
    const reason = validateMapping(ctx.value, roots);
    if (reason) ctx.issues.push({ code: 'custom', message: `invalid mapping: ${reason}`, input: ctx.value });
  };
}

const paramMapping = (roots: readonly string[]) =>
  z.record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'invalid param name' }),
    z.string().check(mappingCheck(roots)),
  );

const triggerSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('cron'),
      cron: z.string().check((ctx) => {
        const reason = validateCron(ctx.value);
        if (reason) ctx.issues.push({ code: 'custom', message: reason, input: ctx.value });
      }),
      timezone: timezone.optional(),
      ...triggerOptionFields,
    }),
    z.strictObject({
      type: z.literal('fixedRate'),
      every: duration.refine((v) => parseDuration(v)! >= 1000, { error: 'must be at least 1s' }),
      startAt: instant.optional(),
      ...triggerOptionFields,
    }),
    z.strictObject({
      type: z.literal('fixedDelay'),
      delay: duration,
      ...triggerOptionFields,
    }),
    z.strictObject({
      type: z.literal('once'),
      at: instant,
      ...triggerOptionFields,
    }),
    z.strictObject({
      type: z.literal('webhook'),
      params: paramMapping(WEBHOOK_ROOTS).optional(),
      ...eventTriggerOptionFields,
    }),
    z.strictObject({
      type: z.literal('dependency'),
      jobs: z
        .array(z.string().regex(JOB_NAME_PATTERN, { error: 'must be a job name' }))
        .min(1, { error: 'needs at least one job' })
        .max(MAX_DEPENDENCY_JOBS, { error: `at most ${MAX_DEPENDENCY_JOBS} jobs` })
        .refine((jobs) => new Set(jobs).size === jobs.length, { error: 'lists a job twice' }),
      within: duration.refine((v) => parseDuration(v)! > 0, { error: 'must be longer than 0' }).optional(),
      ...eventTriggerOptionFields,
    }),
    z.strictObject({
      type: z.literal('event'),
      topic: z
        .string()
        .regex(TENANT_TOPIC_PATTERN, { error: 'must be a topic named tenant.<tenant name>.<name>' })
        .max(249),
      filter: z
        .string()
        .check((ctx) => {
          const reason = validateEventFilter(ctx.value);
          if (reason) ctx.issues.push({ code: 'custom', message: `invalid filter: ${reason}`, input: ctx.value });
        })
        .optional(),
      params: paramMapping(EVENT_ROOTS).optional(),
      dedupeKey: z.string().min(1, { error: 'must not be empty' }).check(mappingCheck(EVENT_ROOTS)).optional(),
      ...eventTriggerOptionFields,
    }),
    z.strictObject({
      type: z.literal('file'),
      path: z
        .string()
        .max(1000)
        .regex(/^\/(?:[^*?]*\/)?[^/]+$/, {
          error: 'must be an absolute path with * or ? only in the file name, e.g. /data/in/*.csv',
        }),
      agentSelector: z.record(z.string(), z.string()).optional(),
      ...eventTriggerOptionFields,
    }),
  ],
  { error: `must be one of ${TRIGGER_TYPES.join(', ')}` },
);

const wallTime = z.string().refine((v) => parseWallTime(v) !== null, {
  error: 'must be a wall-clock time HH:MM, optionally +Nd (days after the logical date), such as "06:00+1d"',
});

/** A job's deadlines: by the clock (relative to the logical date, in `timezone`), by duration, or both. */
export const slaSchema = z
  .strictObject({
    finishBy: wallTime.optional(),
    startBy: wallTime.optional(),
    maxDuration: duration.optional(),
    warnBefore: duration.optional(),
    timezone: timezone.optional(),
  })
  .refine((s) => s.finishBy !== undefined || s.startBy !== undefined || s.maxDuration !== undefined, {
    error: 'needs finishBy, startBy or maxDuration',
  });

/** The job definition as accepted (camelCase input), for validation and the OpenAPI document. */
export const jobSchema = z.strictObject({
  name: z.string().regex(JOB_NAME_PATTERN, {
    error:
      'must match ^[a-z0-9][a-z0-9_.-]{0,99}$ (lowercase letters, digits, "_", "." or "-"; at most 100 characters)',
  }),
  description: z.string().optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  triggers: z.array(triggerSchema).optional(),
  maxActiveRuns: z.int().min(1, { error: 'must be at least 1' }).optional(),
  maxActiveTasks: z.int().min(1, { error: 'must be at least 1' }).optional(),
  bizDateOffset: duration.optional(),
  sla: slaSchema.optional(),
  tasks: z
    .array(taskSchema)
    .min(1, { error: 'a job needs at least one task' })
    .max(MAX_TASKS, { error: `a job has at most ${MAX_TASKS} tasks` }),
});

export type JobDefinitionInput = z.input<typeof jobSchema>;
type ParsedJob = z.output<typeof jobSchema>;
type ParsedTask = ParsedJob['tasks'][number];
type ParsedExecution = Pick<ParsedTask, keyof typeof executionFields>;
type ParsedTrigger = NonNullable<ParsedJob['triggers']>[number];

function isHttpUrlOrTemplate(url: string): boolean {
  // Templated URLs are rendered per run; only their final form can be checked.
  if (url.includes('{{')) return true;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function issueErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push({ path: formatPath([...issue.path, key]), message: 'unknown field' });
    } else if (issue.code === 'invalid_key') {
      const reason = issue.issues[0]?.message ?? issue.message;
      errors.push({ path: formatPath(issue.path), message: `invalid key: ${reason}` });
    } else {
      errors.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return errors;
}

// Applies to every issue without a message of its own: a missing field reads "required", not "expected string, received undefined".
const parseErrorMap: z.core.$ZodErrorMap = (issue) =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined;

// Each task type takes exactly its own spec field.
const SPEC_FIELD_OF_TYPE = {
  shell: 'command',
  noop: null,
  http: 'http',
  script: 'script',
  sql: 'sql',
} as const satisfies Record<TaskType, keyof ParsedExecution | null>;
const SPEC_FIELDS = ['command', 'script', 'http', 'sql'] as const;

function buildExecution(t: ParsedExecution, at: string, errors: FieldError[]): TaskExecutionSpec {
  const own = SPEC_FIELD_OF_TYPE[t.type];
  for (const field of SPEC_FIELDS) {
    if (field === own && t[field] === undefined)
      errors.push({ path: `${at}.${field}`, message: `required for ${t.type} tasks` });
    if (field !== own && t[field] !== undefined)
      errors.push({ path: `${at}.${field}`, message: `not allowed for ${t.type} tasks` });
  }

  const r = t.retry ?? {};
  const delayMs = r.delay === undefined ? DEFAULT_RETRY_POLICY.delayMs : parseDuration(r.delay)!;
  // Without an explicit cap, a long delay raises the default cap instead of being cut by it.
  const maxDelayMs =
    r.maxDelay === undefined ? Math.max(DEFAULT_RETRY_POLICY.maxDelayMs, delayMs) : parseDuration(r.maxDelay)!;
  if (maxDelayMs < delayMs)
    errors.push({ path: `${at}.retry.maxDelay`, message: 'must not be shorter than retry.delay' });

  const { http: h, script: s, sql: q } = t;
  return {
    type: t.type,
    command: t.command ?? null,
    script: s ? { interpreter: s.interpreter ?? 'bash', body: s.body } : null,
    http: h
      ? {
          method: h.method ?? 'GET',
          url: h.url,
          headers: h.headers ?? {},
          body: h.body === undefined ? null : typeof h.body === 'string' ? h.body : JSON.stringify(h.body),
          expectStatus: h.expectStatus ?? [],
        }
      : null,
    sql: q
      ? { driver: q.driver, url: q.url, statement: q.statement, params: q.params ?? [], maxRows: q.maxRows ?? 100 }
      : null,
    env: t.env ?? {},
    timeoutMs: t.timeout === undefined ? 0 : parseDuration(t.timeout)!,
    retry: {
      maxAttempts: r.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
      backoff: r.backoff ?? DEFAULT_RETRY_POLICY.backoff,
      delayMs,
      maxDelayMs,
      jitter: r.jitter ?? DEFAULT_RETRY_POLICY.jitter,
      retryOn: r.retryOn ?? [],
    },
  };
}

function buildTask(t: ParsedTask, i: number, errors: FieldError[]): TaskDefinition {
  const at = `tasks[${i}]`;
  const execution = buildExecution(t, at, errors);
  if (t.poolSlots !== undefined && t.pool === undefined) {
    errors.push({ path: `${at}.poolSlots`, message: 'needs a pool' });
  }
  return {
    key: t.key,
    ...execution,
    dependsOn: t.dependsOn ?? [],
    triggerRule: t.triggerRule ?? 'all_success',
    when: t.when ?? null,
    priority: t.priority ?? 0,
    agentSelector: t.agentSelector ?? {},
    pool: t.pool ?? null,
    poolSlots: t.poolSlots ?? 1,
    idempotent: t.idempotent ?? false,
    retryOnLost: t.retryOnLost ?? false,
    resources: { cpuMillis: t.resources?.cpuMillis ?? 0, memoryMb: t.resources?.memoryMb ?? 0 },
    compensate: t.compensate ? buildExecution(t.compensate, `${at}.compensate`, errors) : null,
    ...(t.maxDuration === undefined ? {} : { maxDurationMs: parseDuration(t.maxDuration)! }),
  };
}

/** The stored form of an SLA `slaSchema` accepted (in a job, or on its own: a proposal to backtest). */
export function buildSla(s: z.output<typeof slaSchema>): SlaSpec {
  return {
    timezone: s.timezone ?? 'UTC',
    finishBy: s.finishBy === undefined ? null : parseWallTime(s.finishBy),
    startBy: s.startBy === undefined ? null : parseWallTime(s.startBy),
    maxDurationMs: s.maxDuration === undefined ? null : parseDuration(s.maxDuration)!,
    warnBeforeMs: s.warnBefore === undefined ? 0 : parseDuration(s.warnBefore)!,
  };
}

function buildTrigger(tr: ParsedTrigger): TriggerDefinition {
  const options = {
    enabled: tr.enabled ?? true,
    misfire: ('misfire' in tr ? tr.misfire : undefined) ?? 'fire_once',
    catchUpLimit: ('catchUpLimit' in tr ? tr.catchUpLimit : undefined) ?? DEFAULT_CATCH_UP_LIMIT,
    overlap: tr.overlap ?? 'allow',
  };
  switch (tr.type) {
    case 'cron':
      return { type: 'cron', cron: tr.cron, timezone: tr.timezone ?? 'UTC', ...options };
    case 'fixedRate':
      return {
        type: 'fixedRate',
        everyMs: parseDuration(tr.every)!,
        startAt: tr.startAt === undefined ? null : parseInstant(tr.startAt)!,
        ...options,
      };
    case 'fixedDelay':
      return { type: 'fixedDelay', delayMs: parseDuration(tr.delay)!, ...options };
    case 'once':
      return { type: 'once', at: parseInstant(tr.at)!, ...options };
    case 'webhook':
      return { type: 'webhook', params: tr.params ?? {}, ...options };
    case 'dependency':
      return {
        type: 'dependency',
        jobs: tr.jobs,
        withinMs: tr.within === undefined ? null : parseDuration(tr.within)!,
        ...options,
      };
    case 'event':
      return {
        type: 'event',
        topic: tr.topic,
        filter: tr.filter ?? null,
        params: tr.params ?? {},
        dedupeKey: tr.dedupeKey ?? null,
        ...options,
      };
    case 'file':
      return { type: 'file', path: tr.path, agentSelector: tr.agentSelector ?? {}, ...options };
    default: {
      const unknown: never = tr;
      throw new Error(`unknown trigger ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Validates a job definition (JSON, or YAML already parsed) and fills in the
 * defaults. Shape errors come first; the cross-field and DAG checks run only
 * on a well-shaped definition, since they would misreport on a broken one.
 */
export function parseJobDefinition(input: unknown): ParseResult<JobDefinition> {
  const parsed = jobSchema.safeParse(input, { error: parseErrorMap });
  if (!parsed.success) return { ok: false, errors: issueErrors(parsed.error.issues) };
  const job = parsed.data;

  const errors: FieldError[] = [];
  const tasks = job.tasks.map((t, i) => buildTask(t, i, errors));
  errors.push(...validateDag(tasks, { pathPrefix: 'tasks' }));
  for (const [i, t] of (job.triggers ?? []).entries()) {
    // A job waiting on itself would run once more after every success.
    if (t.type === 'dependency' && t.jobs.includes(job.name))
      errors.push({ path: `triggers[${i}].jobs`, message: 'must not list the job itself' });
  }
  if (errors.length > 0) return { ok: false, errors };

  return {
    ok: true,
    value: {
      name: job.name,
      description: job.description ?? null,
      params: job.params ?? {},
      triggers: (job.triggers ?? []).map(buildTrigger),
      maxActiveRuns: job.maxActiveRuns ?? null,
      maxActiveTasks: job.maxActiveTasks ?? null,
      bizDateOffsetMs: job.bizDateOffset === undefined ? DEFAULT_BIZ_DATE_OFFSET_MS : parseDuration(job.bizDateOffset)!,
      tasks,
      ...(job.sla ? { sla: buildSla(job.sla) } : {}),
    },
  };
}
