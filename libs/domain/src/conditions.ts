/**
 * Task `when:` conditions in CEL (https://cel.dev): non-Turing-complete and
 * side-effect free, over the run's template context, e.g.
 * `params.region == "eu" && tasks.extract.output.rows > 0`.
 */
import { type CelContext, booleanCompiler, cel, celMessage, toCel } from './cel.js';
import type { TemplateContext } from './templating.js';

export const MAX_CONDITION_LENGTH = 4096;

const environment = new cel.Environment({ limits: { maxAstNodes: 1000, maxDepth: 32 } })
  .registerVariable('execution_date', 'string')
  .registerVariable('biz_date', 'string')
  .registerVariable('env', 'string')
  .registerVariable('run_id', 'string')
  .registerVariable('job', 'string')
  .registerVariable('params', 'map')
  .registerVariable('tasks', 'map');

const compile = booleanCompiler(environment, MAX_CONDITION_LENGTH);

/** The reason a condition is invalid (syntax, unknown variable, not boolean), or null. */
export function validateCondition(expr: string): string | null {
  const entry = compile(expr);
  return 'error' in entry ? entry.error : null;
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
    value = entry.program(toCel(ctx) as CelContext);
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
