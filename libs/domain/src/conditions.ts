/**
 * Task `when:` conditions in CEL (https://cel.dev): non-Turing-complete and
 * side-effect free, over the run's template context, e.g.
 * `params.region == "eu" && tasks.extract.output.rows > 0`.
 */
import type * as Cel from '@marcbachmann/cel-js' with { 'resolution-mode': 'import' };

import { BoundedCache } from './bounded-cache.js';
import type { TemplateContext } from './templating.js';

// cel-js is ESM-only and this library compiles to CommonJS; Node >= 20.19 loads ESM through require().
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cel = require('@marcbachmann/cel-js') as typeof Cel;

export const MAX_CONDITION_LENGTH = 4096;

const environment = new cel.Environment({ limits: { maxAstNodes: 1000, maxDepth: 32 } })
  .registerVariable('execution_date', 'string')
  .registerVariable('biz_date', 'string')
  .registerVariable('env', 'string')
  .registerVariable('run_id', 'string')
  .registerVariable('job', 'string')
  .registerVariable('params', 'map')
  .registerVariable('tasks', 'map');

type Program = ReturnType<typeof environment.parse>;

const programs = new BoundedCache<string, { program: Program } | { error: string }>(1000);

/** The first line of a cel-js message (the rest is a source excerpt) with the column it points at. */
function celMessage(e: Error & { node?: { pos?: number } }): string {
  const first = e.message.split('\n')[0]!;
  return typeof e.node?.pos === 'number' ? `${first} (column ${e.node.pos + 1})` : first;
}

function compile(expr: string): { program: Program } | { error: string } {
  let entry = programs.get(expr);
  if (entry !== undefined) return entry;
  if (expr.length > MAX_CONDITION_LENGTH) return { error: `longer than ${MAX_CONDITION_LENGTH} characters` };
  if (expr.trim() === '') return { error: 'must not be empty' };
  try {
    const program = environment.parse(expr);
    const checked = program.check();
    if (!checked.valid) entry = { error: checked.error ? celMessage(checked.error) : 'invalid expression' };
    else if (checked.type !== 'bool' && checked.type !== 'dyn')
      entry = { error: `must be a boolean expression, got ${checked.type}` };
    else entry = { program };
  } catch (e) {
    if (!(e instanceof cel.ParseError || e instanceof cel.TypeError)) throw e;
    entry = { error: celMessage(e) };
  }
  programs.set(expr, entry);
  return entry;
}

/** The reason a condition is invalid (syntax, unknown variable, not boolean), or null. */
export function validateCondition(expr: string): string | null {
  const entry = compile(expr);
  return 'error' in entry ? entry.error : null;
}

/**
 * JSON numbers arrive as JS numbers, which CEL reads as doubles; whole ones
 * become CEL ints so that `params.retries + 1 > 3` type-checks as users expect.
 */
function toCel(value: unknown, depth = 0): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => toCel(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toCel(v, depth + 1);
  return out;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'double';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'map' : typeof value;
}

/**
 * Evaluates a condition against a run's context. A missing field is an error
 * naming it (use `has(params.x)` to test for presence); so is a result that
 * is not a boolean.
 */
export function evaluateCondition(
  expr: string,
  ctx: TemplateContext,
): { ok: true; value: boolean } | { ok: false; error: string } {
  const entry = compile(expr);
  if ('error' in entry) return { ok: false, error: entry.error };
  let value: unknown;
  try {
    value = entry.program(toCel(ctx) as Cel.Context);
  } catch (e) {
    if (!(e instanceof cel.EvaluationError)) throw e;
    const node = (e as { node?: { input?: string; range?: { start: number; end: number } } }).node;
    if (e.message.startsWith('No such key') && node?.input !== undefined && node.range)
      return { ok: false, error: `unknown variable ${node.input.slice(node.range.start, node.range.end)}` };
    return { ok: false, error: celMessage(e) };
  }
  if (typeof value !== 'boolean')
    return { ok: false, error: `condition must evaluate to a boolean, got ${describeType(value)}` };
  return { ok: true, value };
}
