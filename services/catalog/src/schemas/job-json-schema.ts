import { z } from 'zod';
import { jobSchema } from '@baton/domain';

/** Where the document is served; also its `$id`. */
export const JOB_SCHEMA_PATH = '/api/v1/schemas/job.json';

let cached: Record<string, unknown> | null = null;

/**
 * The JSON Schema (draft 2020-12) of a job definition as `PUT /api/v1/jobs/{name}`
 * accepts it, generated from the zod schema the catalog validates with, so
 * editors and linters check the same shape. What only code can check (cron
 * syntax, templates, conditions, the DAG) is left to the API's answer.
 */
export function jobJsonSchema(): Record<string, unknown> {
  cached ??= {
    ...(z.toJSONSchema(jobSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
      string,
      unknown
    >),
    $id: JOB_SCHEMA_PATH,
    title: 'Baton job definition',
  };
  return cached;
}
