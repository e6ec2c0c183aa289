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
