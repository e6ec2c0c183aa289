import type { z } from 'zod';
import { type FieldProblem, ProblemException } from './problem.js';

/** `tasks.0.retry` -> `tasks[0].retry`: the path format every Baton error uses. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(body)' : out;
}

/** Validates a request body (or query) and answers 400 naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, prefix?: string): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const errors: FieldProblem[] = r.error.issues.map((i) => ({
    path: formatPath(prefix ? [prefix, ...i.path] : i.path),
    message: i.message,
  }));
  throw ProblemException.badRequest(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
}

/**
 * How deeply a request body may nest objects and arrays. JSON.parse takes far
 * deeper input than the code after it (JSON.stringify, validation) can
 * recurse through, and a job definition needs a handful of levels.
 */
export const MAX_BODY_DEPTH = 64;

/** Whether `value` nests objects or arrays more than `max` levels deep; iterative, so it cannot overflow itself. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** Throws a 400 naming the body when it nests deeper than MAX_BODY_DEPTH. */
export function checkBodyDepth(value: unknown): void {
  if (nestsDeeperThan(value, MAX_BODY_DEPTH)) {
    throw ProblemException.invalidField('(body)', `nests objects and arrays more than ${MAX_BODY_DEPTH} levels deep`);
  }
}
