import { Ajv2020 } from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jobSchema } from '@baton/domain';
import { apiPathSegments, fieldProblems, parseJobYaml, schemaProblems } from '../src/lib/job-yaml';

// The same generation as GET /api/v1/schemas/job.json (services/catalog/src/schemas/job-json-schema.ts).
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(
  z.toJSONSchema(jobSchema, { io: 'input', unrepresentable: 'any' }),
);
const words = {
  unknownField: (f: string) => `unknown field ${f}`,
  required: (f: string) => `${f} is required`,
  oneOf: (v: string) => `one of ${v}`,
};
const problems = (text: string) => {
  const parsed = parseJobYaml(text);
  const found = [...parsed.syntax, ...schemaProblems(validate, parsed, text, words)];
  return found
    .sort((a, b) => a.from - b.from)
    .map((p) => ({
      line: p.line,
      path: p.path,
      message: p.message,
      marked: text.slice(p.from, p.to),
    }));
};

describe('problems of a job definition in YAML, placed on the text', () => {
  it('finds none in a valid definition', () => {
    expect(problems('name: a\ntasks:\n  - key: x\n    type: noop\n')).toEqual([]);
  });

  it('marks a YAML syntax error at its line, and nothing else', () => {
    const found = problems('name: a\ntasks:\n  - key: x\n   type: noop\n');
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((p) => p.path === '' && p.line === 4)).toBe(true);
  });

  it('marks a bad value at the value, an unknown field at its key, a missing field at its parent', () => {
    const text = 'name: a\ntasks:\n  - key: x\n    type: shel\n    colour: red\n  - type: noop\n';
    expect(problems(text)).toEqual([
      { line: 4, path: 'tasks[0].type', message: 'one of shell, noop, http, script, sql', marked: 'shel' },
      { line: 5, path: 'tasks[0].colour', message: 'unknown field colour', marked: 'colour' },
      { line: 6, path: 'tasks[1]', message: 'key is required', marked: 'type: noop' },
    ]);
  });

  it('names an unknown trigger type once, not once per kind of trigger', () => {
    const found = problems('name: a\ntriggers:\n  - type: hourly\ntasks:\n  - key: x\n    type: noop\n');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ line: 3, path: 'triggers[0].type', marked: 'hourly' });
    expect(found[0]!.message).toContain('cron, fixedRate');
  });

  it("reports the matching trigger kind's own errors", () => {
    const found = problems('name: a\ntriggers:\n  - type: cron\n    every: 5s\ntasks:\n  - key: x\n    type: noop\n');
    expect(found.map((p) => [p.path, p.message])).toEqual([
      ['triggers[0]', 'cron is required'],
      ['triggers[0].every', 'unknown field every'],
    ]);
  });

  it("places the API's field paths on the text", () => {
    expect(apiPathSegments('tasks[1].dependsOn[0]')).toEqual(['tasks', 1, 'dependsOn', 0]);
    expect(apiPathSegments('params["a.b"]')).toEqual(['params', 'a.b']);
    expect(apiPathSegments('(body)')).toEqual([]);
    const text = 'name: a\ntasks:\n  - key: x\n    type: noop\n    dependsOn: [nope]\n';
    const [p] = fieldProblems(parseJobYaml(text), text, [{ path: 'tasks[0].dependsOn[0]', message: 'unknown task' }]);
    expect([p!.line, text.slice(p!.from, p!.to)]).toEqual([5, 'nope']);
  });
});
