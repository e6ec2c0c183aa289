/**
 * The CEL runtime (https://cel.dev) shared by task conditions and event
 * filters: non-Turing-complete, side-effect free, bounded in size.
 */
import type * as Cel from '@marcbachmann/cel-js' with { 'resolution-mode': 'import' };

import { BoundedCache } from './bounded-cache.js';

// cel-js is ESM-only and this library compiles to CommonJS; Node >= 20.19 loads ESM through require().
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const cel = require('@marcbachmann/cel-js') as typeof Cel;

export type CelEnvironment = InstanceType<typeof cel.Environment>;
export type CelProgram = ReturnType<CelEnvironment['parse']>;
export type Compiled = { program: CelProgram } | { error: string };
export type CelContext = Cel.Context;

/** The first line of a cel-js message (the rest is a source excerpt) with the column it points at. */
export function celMessage(e: Error & { node?: { pos?: number } }): string {
  const first = e.message.split('\n')[0]!;
  return typeof e.node?.pos === 'number' ? `${first} (column ${e.node.pos + 1})` : first;
}

/** A cached compiler of boolean expressions in `environment` (type-checked; `dyn` allowed). */
export function booleanCompiler(environment: CelEnvironment, maxLength: number): (expr: string) => Compiled {
  const programs = new BoundedCache<string, Compiled>(1000);
  return (expr) => {
    let entry = programs.get(expr);
    if (entry !== undefined) return entry;
    if (expr.length > maxLength) return { error: `longer than ${maxLength} characters` };
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
  };
}

/** JSON numbers that are whole become CEL ints, so `params.retries + 1 > 3` type-checks as users expect. */
export function toCel(value: unknown, depth = 0): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => toCel(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toCel(v, depth + 1);
  return out;
}
