import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { jobSchema } from '@baton/domain';
import { JOB_SCHEMA_PATH, jobJsonSchema } from './job-json-schema.js';

const EXAMPLES = resolve(__dirname, '../../../../examples');
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(jobJsonSchema());

describe('the JSON Schema of job definitions', () => {
  it('is a draft 2020-12 document with its own address', () => {
    const s = jobJsonSchema();
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.$id).toBe(JOB_SCHEMA_PATH);
    expect(s.required).toEqual(['name', 'tasks']);
  });

  it.each(readdirSync(EXAMPLES).filter((f) => /\.ya?ml$/.test(f)))('accepts examples/%s', (file) => {
    const job: unknown = parse(readFileSync(join(EXAMPLES, file), 'utf8'));
    expect(validate(job), JSON.stringify(validate.errors)).toBe(true);
  });

  const base = { name: 'etl', tasks: [{ key: 'a', type: 'shell', command: 'echo a' }] };
  const cases: Array<[what: string, job: unknown, valid: boolean, path?: string]> = [
    ['a minimal job', base, true],
    ['a cron trigger and a retry policy', { ...base, triggers: [{ type: 'cron', cron: '0 0 2 * * *' }] }, true],
    ['a duration as a number of seconds', { ...base, tasks: [{ ...base.tasks[0], timeout: 30 }] }, true],
    ['no tasks', { name: 'etl', tasks: [] }, false, '/tasks'],
    ['a missing name', { tasks: base.tasks }, false, ''],
    ['an unknown field', { ...base, schedule: '* * *' }, false, ''],
    ['an upper-case job name', { ...base, name: 'ETL' }, false, '/name'],
    ['an unknown task type', { ...base, tasks: [{ key: 'a', type: 'python' }] }, false, '/tasks/0/type'],
    ['a task field of the wrong type', { ...base, tasks: [{ ...base.tasks[0], dependsOn: 'b' }] }, false],
    ['an unknown trigger type', { ...base, triggers: [{ type: 'hourly' }] }, false, '/triggers/0'],
    ['maxActiveRuns of 0', { ...base, maxActiveRuns: 0 }, false, '/maxActiveRuns'],
  ];
  it.each(cases)('%s: valid=%s, as the API decides the shape', (_what, job, valid, path) => {
    expect(validate(job), JSON.stringify(validate.errors)).toBe(valid);
    expect(jobSchema.safeParse(job).success).toBe(valid);
    if (path !== undefined) expect(validate.errors?.map((e) => e.instancePath)).toContain(path);
  });
});
