import { z } from 'zod';

const Text = z.string().trim().min(1).max(300).optional();
const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO time such as 2026-12-01T09:00:00Z' });

/** `200` (exactly) or `4xx` (a class of statuses). */
const Status = z
  .string()
  .regex(/^[1-5](\d\d|xx)$/, 'must be a status such as 403 or a class such as 4xx')
  .transform((s) =>
    s.endsWith('xx') ? { min: Number(s[0]) * 100, max: Number(s[0]) * 100 + 99 } : { min: Number(s), max: Number(s) },
  );

const fields = {
  actor: Text,
  action: Text,
  target: Text,
  from: Instant.optional(),
  to: Instant.optional(),
  status: Status.optional(),
};

/**
 * The review filters of `GET /api/v1/audit` and `GET /api/v1/audit.csv`: `actor`
 * and `target` match a substring, `action` a prefix (the whole action is a
 * prefix too), `from` (inclusive) and `to` (exclusive) bound `occurredAt`.
 * Any other key is refused, so a misspelt filter does not silently show everything.
 */
export const AuditQuery = z.looseObject(fields).transform((q, ctx) => {
  const unknown = Object.keys(q).filter((k) => !(k in fields));
  for (const k of unknown) {
    ctx.addIssue({ code: 'custom', path: [k], message: 'is not a filter (actor, action, target, from, to, status)' });
  }
  if (unknown.length > 0) return z.NEVER;
  const from = q.from === undefined ? undefined : Date.parse(q.from);
  const to = q.to === undefined ? undefined : Date.parse(q.to);
  if (from !== undefined && to !== undefined && to <= from) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    return z.NEVER;
  }
  return { actor: q.actor, action: q.action, target: q.target, from, to, status: q.status };
});

/** What the OpenAPI document shows of the list's query: the filters and the page. */
export const AuditListQuery = z.object({
  ...fields,
  limit: z.string().optional(),
  cursor: z.string().optional(),
});

export type AuditFilter = z.output<typeof AuditQuery>;

/** The query string without the page's keys (a repeated key arrives as a list and is refused). */
export function filterInput(query: Record<string, unknown>): Record<string, unknown> {
  const { limit: _l, cursor: _c, ...rest } = query;
  return rest;
}
