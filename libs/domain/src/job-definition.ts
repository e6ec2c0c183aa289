import { z } from 'zod';

import { validateCron, validateTimeZone } from './cron.js';
import { validateDag } from './dag.js';
import { parseDuration } from './duration.js';
import type { FieldError, ParseResult } from './errors.js';
import { BACKOFFS, DEFAULT_RETRY_POLICY } from './retry.js';
import type { RetryPolicy } from './retry.js';
import { TRIGGER_RULES } from './trigger-rules.js';
import type { TriggerRule } from './trigger-rules.js';

export const JOB_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,99}$/;
export const TASK_KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
export const MAX_TASKS = 10_000;
export const MAX_ATTEMPTS_LIMIT = 100;

export const TASK_TYPES = ['shell', 'noop', 'http'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface CronTrigger {
  type: 'cron';
  cron: string;
  timezone: string;
  enabled: boolean;
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

export interface TaskDefinition {
  key: string;
  type: TaskType;
  command: string | null;
  env: Record<string, string>;
  dependsOn: string[];
  triggerRule: TriggerRule;
  retry: RetryPolicy;
  /** 0 = no timeout. */
  timeoutMs: number;
  priority: number;
  agentSelector: Record<string, string>;
  idempotent: boolean;
  http: HttpTaskSpec | null;
}

export interface JobDefinition {
  name: string;
  description: string | null;
  params: Record<string, unknown>;
  triggers: CronTrigger[];
  maxActiveRuns: number | null;
  tasks: TaskDefinition[];
}

const duration = z
  .union([z.string(), z.number()], { error: 'must be a duration such as "30s", "5m", "1h30m" or a number of seconds' })
  .refine((v) => parseDuration(v) !== null, {
    error: 'must be a non-negative duration such as "30s", "5m", "1h30m" or a number of seconds',
  });

const stringMap = z.record(z.string(), z.string());

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
    .refine(isHttpUrlOrTemplate, { error: 'must be an absolute http(s) URL' }),
  headers: stringMap.optional(),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  expectStatus: z
    .array(
      z
        .int()
        .min(100, { error: 'must be an HTTP status 100..599' })
        .max(599, { error: 'must be an HTTP status 100..599' }),
    )
    .optional(),
});

const taskSchema = z.strictObject({
  key: z.string().regex(TASK_KEY_PATTERN, {
    error: 'must be 1-100 letters, digits, "_", "." or "-", not starting with "." or "-"',
  }),
  type: z.enum(TASK_TYPES, { error: `must be one of ${TASK_TYPES.join(', ')}` }),
  command: z.string().min(1, { error: 'must not be empty' }).optional(),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'invalid environment variable name' }), z.string())
    .optional(),
  dependsOn: z.array(z.string()).optional(),
  triggerRule: z.enum(TRIGGER_RULES, { error: `must be one of ${TRIGGER_RULES.join(', ')}` }).optional(),
  retry: retrySchema.optional(),
  timeout: duration.optional(),
  priority: z.int().optional(),
  agentSelector: stringMap.optional(),
  idempotent: z.boolean().optional(),
  http: httpSchema.optional(),
});

const triggerSchema = z.strictObject({
  type: z.literal('cron', { error: 'must be "cron"' }),
  cron: z.string().check((ctx) => {
    const reason = validateCron(ctx.value);
    if (reason) ctx.issues.push({ code: 'custom', message: reason, input: ctx.value });
  }),
  timezone: z
    .string()
    .check((ctx) => {
      const reason = validateTimeZone(ctx.value);
      if (reason) ctx.issues.push({ code: 'custom', message: reason, input: ctx.value });
    })
    .optional(),
  enabled: z.boolean().optional(),
});

const jobSchema = z.strictObject({
  name: z.string().regex(JOB_NAME_PATTERN, {
    error:
      'must match ^[a-z0-9][a-z0-9_.-]{0,99}$ (lowercase letters, digits, "_", "." or "-"; at most 100 characters)',
  }),
  description: z.string().optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  triggers: z.array(triggerSchema).optional(),
  maxActiveRuns: z.int().min(1, { error: 'must be at least 1' }).optional(),
  tasks: z
    .array(taskSchema)
    .min(1, { error: 'a job needs at least one task' })
    .max(MAX_TASKS, { error: `a job has at most ${MAX_TASKS} tasks` }),
});

export type JobDefinitionInput = z.input<typeof jobSchema>;
type ParsedJob = z.output<typeof jobSchema>;
type ParsedTask = ParsedJob['tasks'][number];

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

function buildTask(t: ParsedTask, i: number, errors: FieldError[]): TaskDefinition {
  const at = `tasks[${i}]`;
  if (t.type === 'shell' && t.command === undefined)
    errors.push({ path: `${at}.command`, message: 'required for shell tasks' });
  if (t.type !== 'shell' && t.command !== undefined)
    errors.push({ path: `${at}.command`, message: `not allowed for ${t.type} tasks` });
  if (t.type === 'http' && t.http === undefined)
    errors.push({ path: `${at}.http`, message: 'required for http tasks' });
  if (t.type !== 'http' && t.http !== undefined)
    errors.push({ path: `${at}.http`, message: `not allowed for ${t.type} tasks` });

  const r = t.retry ?? {};
  const delayMs = r.delay === undefined ? DEFAULT_RETRY_POLICY.delayMs : parseDuration(r.delay)!;
  // Without an explicit cap, a long delay raises the default cap instead of being cut by it.
  const maxDelayMs =
    r.maxDelay === undefined ? Math.max(DEFAULT_RETRY_POLICY.maxDelayMs, delayMs) : parseDuration(r.maxDelay)!;
  if (maxDelayMs < delayMs)
    errors.push({ path: `${at}.retry.maxDelay`, message: 'must not be shorter than retry.delay' });

  const h = t.http;
  return {
    key: t.key,
    type: t.type,
    command: t.command ?? null,
    env: t.env ?? {},
    dependsOn: t.dependsOn ?? [],
    triggerRule: t.triggerRule ?? 'all_success',
    retry: {
      maxAttempts: r.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
      backoff: r.backoff ?? DEFAULT_RETRY_POLICY.backoff,
      delayMs,
      maxDelayMs,
      jitter: r.jitter ?? DEFAULT_RETRY_POLICY.jitter,
      retryOn: r.retryOn ?? [],
    },
    timeoutMs: t.timeout === undefined ? 0 : parseDuration(t.timeout)!,
    priority: t.priority ?? 0,
    agentSelector: t.agentSelector ?? {},
    idempotent: t.idempotent ?? false,
    http: h
      ? {
          method: h.method ?? 'GET',
          url: h.url,
          headers: h.headers ?? {},
          body: h.body === undefined ? null : typeof h.body === 'string' ? h.body : JSON.stringify(h.body),
          expectStatus: h.expectStatus ?? [],
        }
      : null,
  };
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
  if (errors.length > 0) return { ok: false, errors };

  return {
    ok: true,
    value: {
      name: job.name,
      description: job.description ?? null,
      params: job.params ?? {},
      triggers: (job.triggers ?? []).map((tr) => ({
        type: 'cron',
        cron: tr.cron,
        timezone: tr.timezone ?? 'UTC',
        enabled: tr.enabled ?? true,
      })),
      maxActiveRuns: job.maxActiveRuns ?? null,
      tasks,
    },
  };
}
