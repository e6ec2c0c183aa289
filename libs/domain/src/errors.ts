/** A validation problem tied to the field it concerns, e.g. `tasks[1].retry.backoff`. */
export interface FieldError {
  path: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };
