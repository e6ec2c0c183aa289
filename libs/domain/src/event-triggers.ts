/**
 * Pure parts of the event-driven triggers (webhook, dependency, event):
 * mapping templates over a delivery, the CEL filter of Kafka event triggers,
 * the rules a topic name follows, dedupe keys and the webhook signature's
 * signed text. No I/O and no crypto: the trigger service does the HMAC.
 */

import { BoundedCache } from './bounded-cache.js';

import { type CelContext, booleanCompiler, cel, celMessage, toCel } from './cel.js';

/** What a webhook mapping template reads: the JSON body and the request headers (lower-case names). */
export const WEBHOOK_ROOTS = ['body', 'headers'] as const;
/** What an event trigger's mapping, dedupe key and filter read about a Kafka record. */
export const EVENT_ROOTS = ['topic', 'partition', 'offset', 'key', 'headers', 'value'] as const;

export const MAX_MAPPING_TEMPLATE_LENGTH = 1000;
export const MAX_FILTER_LENGTH = 4096;
/** Longer dedupe keys are hashed by the trigger service to fit the runs' column (200). */
export const MAX_PLAIN_DEDUPE_KEY = 150;

type PathSegment = string | number;
type MappingPart = { text: string } | { path: PathSegment[]; display: string };

class MappingSyntaxError extends Error {}

const IDENT = /[A-Za-z_][A-Za-z0-9_-]*/y;

/** `{{ a.b[0]["c d"] }}` parts of a mapping template. */
function parseMapping(text: string, roots: readonly string[]): MappingPart[] {
  if (text.length > MAX_MAPPING_TEMPLATE_LENGTH)
    throw new MappingSyntaxError(`longer than ${MAX_MAPPING_TEMPLATE_LENGTH}`);
  const parts: MappingPart[] = [];
  let pos = 0;
  for (;;) {
    const open = text.indexOf('{{', pos);
    if (open < 0) break;
    if (open > pos) parts.push({ text: text.slice(pos, open) });
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new MappingSyntaxError(`unclosed "{{" at column ${open + 1}`);
    const inner = text.slice(open + 2, close).trim();
    parts.push({ path: parsePath(inner, roots), display: inner });
    pos = close + 2;
  }
  if (pos < text.length) parts.push({ text: text.slice(pos) });
  return parts;
}

function parsePath(expr: string, roots: readonly string[]): PathSegment[] {
  const hint = `expected one of ${roots.join(', ')}`;
  IDENT.lastIndex = 0;
  const root = IDENT.exec(expr)?.[0];
  if (!root) throw new MappingSyntaxError(`"${expr}" is not a path (${hint})`);
  if (!roots.includes(root)) throw new MappingSyntaxError(`unknown variable "${root}" (${hint})`);
  const path: PathSegment[] = [root];
  let pos = root.length;
  while (pos < expr.length) {
    if (expr[pos] === '.') {
      IDENT.lastIndex = pos + 1;
      const m = IDENT.exec(expr);
      if (!m) throw new MappingSyntaxError(`expected a field name after "." in "${expr}"`);
      path.push(m[0]);
      pos = IDENT.lastIndex;
    } else if (expr[pos] === '[') {
      const close = expr.indexOf(']', pos);
      if (close < 0) throw new MappingSyntaxError(`unclosed "[" in "${expr}"`);
      const inside = expr.slice(pos + 1, close).trim();
      if (/^\d+$/.test(inside)) path.push(Number(inside));
      else if (/^"[^"\\]*"$|^'[^'\\]*'$/.test(inside)) path.push(inside.slice(1, -1));
      else throw new MappingSyntaxError(`"[${inside}]" must be an index or a quoted field name`);
      pos = close + 1;
    } else {
      throw new MappingSyntaxError(
        `unexpected "${expr.slice(pos).trim()}" in "${expr}" (filters are not supported here)`,
      );
    }
  }
  return path;
}

const mappings = new BoundedCache<string, MappingPart[] | { error: string }>(1000);

function compileMapping(text: string, roots: readonly string[]): MappingPart[] | { error: string } {
  const cacheKey = `${roots.join(',')}\u0000${text}`;
  let entry = mappings.get(cacheKey);
  if (entry === undefined) {
    try {
      entry = parseMapping(text, roots);
    } catch (e) {
      if (!(e instanceof MappingSyntaxError)) throw e;
      entry = { error: e.message };
    }
    mappings.set(cacheKey, entry);
  }
  return entry;
}

/** The syntax error of a mapping template over `roots`, or null. */
export function validateMapping(text: string, roots: readonly string[]): string | null {
  const entry = compileMapping(text, roots);
  return 'error' in entry ? entry.error : null;
}

const MISSING = Symbol('missing');

function lookup(root: Record<string, unknown>, path: readonly PathSegment[]): unknown {
  let value: unknown = root;
  for (const key of path) {
    if (Array.isArray(value)) {
      const i = typeof key === 'number' ? key : /^\d+$/.test(key) ? Number(key) : -1;
      value = i >= 0 && i < value.length ? (value[i] as unknown) : MISSING;
      // Own properties only: `constructor` or `__proto__` must not reach into the prototype.
    } else if (value !== null && typeof value === 'object' && Object.hasOwn(value, key)) {
      value = (value as Record<string, unknown>)[key];
    } else {
      value = MISSING;
    }
    if (value === MISSING || value === undefined) return MISSING;
  }
  return value;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Renders a mapping template against a delivery. A template that is exactly
 * one `{{ path }}` keeps the value's JSON type (a number stays a number, an
 * object an object); mixed text renders as a string. A missing field is an
 * error naming it.
 */
export function renderMapping(
  text: string,
  roots: readonly string[],
  data: Record<string, unknown>,
): { ok: true; value: unknown } | { ok: false; error: string } {
  const parts = compileMapping(text, roots);
  if ('error' in parts) return { ok: false, error: parts.error };
  const values: unknown[] = [];
  for (const part of parts) {
    if ('text' in part) {
      values.push(part.text);
      continue;
    }
    const v = lookup(data, part.path);
    if (v === MISSING) return { ok: false, error: `${part.display} is missing` };
    values.push(v);
  }
  if (parts.length === 1 && !('text' in parts[0]!)) return { ok: true, value: values[0] };
  return { ok: true, value: values.map(stringify).join('') };
}

/** Renders each mapping of `params`; the first failure names the param. */
export function renderParams(
  params: Readonly<Record<string, string>>,
  roots: readonly string[],
  data: Record<string, unknown>,
): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  const out: Record<string, unknown> = {};
  for (const [name, template] of Object.entries(params)) {
    const r = renderMapping(template, roots, data);
    if (!r.ok) return { ok: false, error: `params.${name}: ${r.error}` };
    out[name] = r.value;
  }
  return { ok: true, value: out };
}

/** Kafka's own rules for a topic name. */
export const TOPIC_NAME_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;
/** Tenants bind only their own topics: `tenant.<tenantName>.<rest>`. */
export const TENANT_TOPIC_PATTERN = /^tenant\.([a-z0-9][a-z0-9_-]{0,99})\.[A-Za-z0-9._-]+$/;

/** The reason a tenant may not bind `topic`, or null when it may. */
export function eventTopicError(topic: string, tenantName: string): string | null {
  const m = TENANT_TOPIC_PATTERN.exec(topic);
  if (!m || !TOPIC_NAME_PATTERN.test(topic)) return 'must be a topic named tenant.<tenant name>.<name>';
  if (m[1] !== tenantName) return `tenant ${tenantName} may only bind topics named tenant.${tenantName}.*`;
  return null;
}

export function webhookDedupeKey(triggerId: string, key: string): string {
  return `hook:${triggerId}:${key}`;
}

export function dependencyDedupeKey(triggerId: string, logicalDate: number): string {
  return `dep:${triggerId}:${logicalDate}`;
}

/** Without a template: the record's `event-id` header, else its coordinates. */
export function defaultEventKey(r: {
  topic: string;
  partition: number;
  offset: string;
  eventId: string | null;
}): string {
  return r.eventId ?? `${r.topic}/${r.partition}/${r.offset}`;
}

export function eventDedupeKey(triggerId: string, key: string): string {
  return `event:${triggerId}:${key}`;
}

/** What a webhook sender signs: `<unix seconds>.<raw body>`. */
export function webhookSignedPayload(timestamp: string, rawBody: Uint8Array): Uint8Array {
  const prefix = new TextEncoder().encode(`${timestamp}.`);
  const out = new Uint8Array(prefix.length + rawBody.length);
  out.set(prefix, 0);
  out.set(rawBody, prefix.length);
  return out;
}

/** The hex digest in `X-Baton-Signature: sha256=<hex>`, or null when the header has another form. */
export function parseSignatureHeader(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  return m ? m[1]!.toLowerCase() : null;
}

/** Whether `X-Baton-Timestamp` (unix seconds) is within `toleranceMs` of now, either way. */
export function timestampFresh(header: string | undefined, nowMs: number, toleranceMs: number): boolean {
  if (!header || !/^\d{1,12}$/.test(header.trim())) return false;
  return Math.abs(nowMs - Number(header.trim()) * 1000) <= toleranceMs;
}

/**
 * Whether upstream successes for one logical date complete a dependency:
 * every job has one, and (with `withinMs`) the earliest finished at most
 * `withinMs` before the latest.
 */
export function dependencySatisfied(
  jobs: readonly string[],
  finishedAtByJob: ReadonlyMap<string, number>,
  withinMs: number | null,
): boolean {
  const times: number[] = [];
  for (const j of jobs) {
    const t = finishedAtByJob.get(j);
    if (t === undefined) return false;
    times.push(t);
  }
  if (withinMs === null || times.length === 0) return true;
  return Math.max(...times) - Math.min(...times) <= withinMs;
}

// The CEL filter of event triggers: over the record's key, headers and parsed value.
const filterEnvironment = new cel.Environment({ limits: { maxAstNodes: 1000, maxDepth: 32 } })
  .registerVariable('topic', 'string')
  .registerVariable('partition', 'int')
  .registerVariable('offset', 'string')
  .registerVariable('key', 'dyn')
  .registerVariable('headers', 'map')
  .registerVariable('value', 'dyn');

const compileFilter = booleanCompiler(filterEnvironment, MAX_FILTER_LENGTH);

/** The reason an event filter is invalid (syntax, unknown variable, not boolean), or null. */
export function validateEventFilter(expr: string): string | null {
  const entry = compileFilter(expr);
  return 'error' in entry ? entry.error : null;
}

/** A Kafka record as event triggers see it. */
export interface EventRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  /** The value parsed as JSON, or the text when it is not JSON. */
  value: unknown;
}

/**
 * Evaluates an event filter. A record the filter cannot be evaluated on (a
 * missing field, a type mismatch) does not match: `error` says why.
 */
export function matchesEventFilter(expr: string, record: EventRecord): { match: boolean; error: string | null } {
  const entry = compileFilter(expr);
  if ('error' in entry) return { match: false, error: entry.error };
  let value: unknown;
  try {
    value = entry.program(toCel({ ...record, partition: record.partition }) as CelContext);
  } catch (e) {
    if (!(e instanceof cel.EvaluationError)) throw e;
    return { match: false, error: celMessage(e) };
  }
  if (typeof value !== 'boolean') return { match: false, error: 'filter did not evaluate to a boolean' };
  return { match: value, error: null };
}
