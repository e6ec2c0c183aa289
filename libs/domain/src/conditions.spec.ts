import { describe, expect, it } from 'vitest';

import { evaluateCondition, validateCondition } from './conditions.js';
import { buildTemplateContext } from './templating.js';

const ctx = buildTemplateContext({
  logicalDate: Date.UTC(2026, 0, 15, 2),
  bizDateOffsetMs: 86_400_000,
  env: 'prod',
  runId: 'r-1',
  job: 'etl',
  params: { region: 'eu', retries: 2, ratio: 0.75, full: true, tags: ['a', 'b'], opts: { mode: 'fast' }, none: null },
  outputs: { extract: { rows: 120, files: ['x', 'y'] }, check: 'ok' },
});

describe('evaluateCondition', () => {
  it.each<[string, boolean]>([
    ['true', true],
    ['params.region == "eu"', true],
    ['params.region != "eu"', false],
    ['params.retries + 1 > 2', true],
    ['params.retries == 2', true],
    ['params.retries < 2.5', true],
    ['params.ratio >= 0.75 && params.ratio <= 1', true],
    ['params.full && !(params.region == "us")', true],
    ['params.region == "us" || env == "prod"', true],
    ['"a" in params.tags', true],
    ['"mode" in params.opts', true],
    ['size(params.tags) == 2', true],
    ['tasks.extract.output.rows > 100', true],
    ['size(tasks.extract.output.files) > 2', false],
    ['tasks.check.output == "ok"', true],
    ['params.none == null', true],
    ['has(params.absent)', false],
    ['has(params.absent) && params.absent > 1', false],
    ['biz_date == "2026-01-14"', true],
    ['execution_date.startsWith("2026-01-15T02:00")', true],
    ['job == "etl" && run_id == "r-1"', true],
    ['params.region == "eu" ? params.full : false', true],
  ])('%s', (expr, value) => {
    expect(evaluateCondition(expr, ctx)).toEqual({ ok: true, value });
  });

  it.each<[string, string]>([
    ['params.absent > 1', 'unknown variable params.absent'],
    ['params.opts.speed == 1', 'unknown variable params.opts.speed'],
    ['tasks.transform.output.rows > 0', 'unknown variable tasks.transform'],
    ['tasks.extract.output.cols > 0', 'unknown variable tasks.extract.output.cols'],
    ['params.region', 'condition must evaluate to a boolean, got string'],
    ['params.opts', 'condition must evaluate to a boolean, got map'],
    ['tasks.extract.output.rows', 'condition must evaluate to a boolean, got int'],
    ['params.region > 1', 'no such overload: dyn<string> > int (column 1)'],
    ['params.x ==', 'Unexpected token: EOF (column 12)'],
  ])('%s fails', (expr, error) => {
    expect(evaluateCondition(expr, ctx)).toEqual({ ok: false, error });
  });

  it('gives the same answer from its cache', () => {
    const expr = 'tasks.extract.output.rows > params.retries';
    expect(evaluateCondition(expr, ctx)).toEqual({ ok: true, value: true });
    const smaller = { ...ctx, tasks: { extract: { output: { rows: 1 } } } };
    expect(evaluateCondition(expr, smaller)).toEqual({ ok: true, value: false });
  });
});

describe('validateCondition', () => {
  it.each(['params.x > 1', 'has(params.x)', 'tasks.a.output.ok == true', '[1, 2].exists(x, x > params.n)'])(
    'accepts %s',
    (expr) => {
      expect(validateCondition(expr)).toBeNull();
    },
  );

  it.each<[string, string]>([
    ['', 'must not be empty'],
    ['params.x ==', 'Unexpected token: EOF (column 12)'],
    ['(params.x', 'Expected RPAREN, got EOF (column 10)'],
    ['region == "eu"', 'Unknown variable: region (column 1)'],
    ['env', 'must be a boolean expression, got string'],
    ['1 + 2', 'must be a boolean expression, got int'],
    ['env == 1', 'no such overload: string == int (column 1)'],
    ['x'.repeat(5000), 'longer than 4096 characters'],
  ])('rejects %j', (expr, error) => {
    expect(validateCondition(expr)).toBe(error);
  });
});
