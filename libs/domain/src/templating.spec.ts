import { describe, expect, it } from 'vitest';

import {
  buildTemplateContext,
  paramsEnv,
  renderShellCommand,
  renderTemplate,
  secretRefs,
  validateTemplate,
} from './templating.js';
import type { TemplateContext } from './templating.js';

const ctx: TemplateContext = buildTemplateContext({
  logicalDate: Date.UTC(2026, 2, 29, 1, 30),
  bizDateOffsetMs: 86_400_000,
  env: 'prod',
  runId: 'r-42',
  job: 'nightly-etl',
  params: {
    region: 'eu',
    count: 3,
    ratio: 0.5,
    dryRun: false,
    nothing: null,
    tags: ['a', 'b'],
    'odd-key': 'odd',
    nested: { x: { y: 'deep' } },
    day: '2026-02-28',
    padded: '  Hi  ',
  },
  outputs: { extract: { rows: 120, file: 's3://b/k', ok: true }, 'load.v2': { n: 1 } },
});

describe('buildTemplateContext', () => {
  it('fills in every field', () => {
    expect(ctx).toMatchObject({
      execution_date: '2026-03-29T01:30:00.000Z',
      biz_date: '2026-03-28',
      env: 'prod',
      run_id: 'r-42',
      job: 'nightly-etl',
      tasks: { extract: { output: { rows: 120, file: 's3://b/k', ok: true } }, 'load.v2': { output: { n: 1 } } },
    });
  });

  it.each<[string, number, number, string | undefined, string]>([
    ['a day back in UTC', Date.UTC(2026, 0, 1, 2), 86_400_000, undefined, '2025-12-31'],
    ['no offset', Date.UTC(2026, 0, 1, 2), 0, undefined, '2026-01-01'],
    ['a zone ahead of UTC', Date.UTC(2026, 0, 1, 23, 30), 0, 'Europe/Berlin', '2026-01-02'],
    ['a zone behind UTC', Date.UTC(2026, 0, 1, 3), 0, 'America/New_York', '2025-12-31'],
    ['an offset of hours', Date.UTC(2026, 0, 1, 5), 6 * 3_600_000, undefined, '2025-12-31'],
  ])('biz_date: %s', (_name, logicalDate, bizDateOffsetMs, timezone, expected) => {
    const c = buildTemplateContext({
      logicalDate,
      bizDateOffsetMs,
      timezone,
      env: 'e',
      runId: 'r',
      job: 'j',
      params: {},
      outputs: {},
    });
    expect(c.biz_date).toBe(expected);
  });
});

describe('renderTemplate', () => {
  it.each<[string, string]>([
    ['no templates at all', 'no templates at all'],
    ['{{ execution_date }}', '2026-03-29T01:30:00.000Z'],
    ['day={{biz_date}}', 'day=2026-03-28'],
    ['{{ env }}/{{ run_id }}/{{ job }}', 'prod/r-42/nightly-etl'],
    ['{{ params.region }}', 'eu'],
    ['{{ params.count }}', '3'],
    ['{{ params.ratio }}', '0.5'],
    ['{{ params.dryRun }}', 'false'],
    ['[{{ params.nothing }}]', '[]'],
    ['{{ params.tags }}', '["a","b"]'],
    ['{{ params.tags[1] }}', 'b'],
    ['{{ params["odd-key"] }}', 'odd'],
    ["{{ params['odd-key'] }}", 'odd'],
    ['{{ params.odd-key }}', 'odd'],
    ['{{ params.nested.x.y }}', 'deep'],
    ['{{ params.nested }}', '{"x":{"y":"deep"}}'],
    ['{{ tasks.extract.output.rows }}', '120'],
    ['{{ tasks["load.v2"].output.n }}', '1'],
    ['{{ tasks.extract.output }}', '{"rows":120,"file":"s3://b/k","ok":true}'],
    ['{{ execution_date | date("YYYYMMDD-HHmmss") }}', '20260329-013000'],
    ["{{ execution_date | date('YYYY-MM-DD HH:mm', 'Europe/Berlin') }}", '2026-03-29 03:30'],
    ["{{ biz_date | date('DD.MM.YYYY') }}", '28.03.2026'],
    ["{{ biz_date | date('YYYY-MM-DD', 'America/New_York') }}", '2026-03-28'],
    ['{{ biz_date | add_days(1) }}', '2026-03-29'],
    ['{{ biz_date | add_days(-28) }}', '2026-02-28'],
    ['{{ params.day | add_days(1) }}', '2026-03-01'],
    ['{{ biz_date | add_hours(25) }}', '2026-03-29'],
    ['{{ execution_date | add_hours(-2) }}', '2026-03-28T23:30:00.000Z'],
    ['{{ execution_date | add_minutes(45) }}', '2026-03-29T02:15:00.000Z'],
    ["{{ execution_date | add_days(1) | date('YYYY/MM/DD') }}", '2026/03/30'],
    ["{{ params.missing | default('none') }}", 'none'],
    ['{{ params.nothing | default(7) }}', '7'],
    ['{{ params.region | default("x") }}', 'eu'],
    ["{{ params.missing | upper | default('A') }}", 'A'],
    ['{{ tasks.absent.output.rows | default(0) }}', '0'],
    ['{{ params.region | json }}', '"eu"'],
    ['{{ params.tags | json }}', '["a","b"]'],
    ['{{ params.region | upper }}', 'EU'],
    ['{{ env | upper | lower }}', 'prod'],
    ['[{{ params.padded | trim }}]', '[Hi]'],
    ['{{params.region|upper()}}', 'EU'],
    ['a }} b', 'a }} b'],
  ])('%s', (text, expected) => {
    expect(renderTemplate(text, ctx)).toEqual({ ok: true, value: expected });
  });

  it.each<[string, string]>([
    ['{{ params.missing }}', 'unknown variable params.missing'],
    ['{{ params.nested.x.z }}', 'unknown variable params.nested.x.z'],
    ['{{ params["no-such"] }}', 'unknown variable params["no-such"]'],
    ['{{ tasks.transform.output.rows }}', 'unknown variable tasks.transform.output.rows'],
    ['{{ params.tags[5] }}', 'unknown variable params.tags[5]'],
    ['{{ params.constructor }}', 'unknown variable params.constructor'],
    ['{{ params.missing | upper }}', 'unknown variable params.missing'],
    ['{{ params.region | add_days(1) }}', 'add_days: expected an ISO instant or a YYYY-MM-DD date, got "eu"'],
    ["{{ params.count | date('YYYY') }}", 'date: expected an ISO instant or a YYYY-MM-DD date, got 3'],
    ['{{ params.x', 'unclosed "{{" at offset 0'],
  ])('%s fails', (text, error) => {
    expect(renderTemplate(text, ctx)).toEqual({ ok: false, error });
  });
});

describe('validateTemplate', () => {
  it.each([
    'plain',
    '{{ biz_date }}',
    "{{ params.x | default('a') | upper }}",
    "{{ execution_date | date('HH', 'Asia/Tokyo') }}",
    '{{ tasks.a.output }}',
    '{{ params }}',
    '{{ params.x | default(null) }} {{ params.y | default(true) }} {{ params.z | default(-1.5) }}',
    '{{ params.s | default("say \\"hi\\"\\n") }}',
  ])('accepts %s', (text) => {
    expect(validateTemplate(text)).toBeNull();
  });

  it.each<[string, string]>([
    ['echo {{ x', 'unclosed "{{" at offset 5'],
    ['{{ }}', 'expected a variable, found "}}" in {{ }}'],
    [
      '{{ today }}',
      'unknown variable "today" (expected execution_date, biz_date, env, run_id, job, params.*, tasks.<key>.output.*, secrets.<NAME>) in {{ today }}',
    ],
    [
      '{{ tasks.a.result }}',
      'expected tasks.<key>.output or a field of it, got tasks.a.result in {{ tasks.a.result }}',
    ],
    ['{{ job.name }}', 'job is a string and has no fields in {{ job.name }}'],
    [
      '{{ env | shout }}',
      'unknown filter "shout" (expected one of date, add_days, add_hours, add_minutes, default, json, upper, lower, trim) in {{ env | shout }}',
    ],
    ['{{ env | upper(1) }}', 'upper takes 0 argument(s), got 1 in {{ env | upper(1) }}'],
    ['{{ env | date }}', 'date takes 1 to 2 argument(s), got 0 in {{ env | date }}'],
    ['{{ env | date(1) }}', 'argument 1 of date must be a string in {{ env | date(1) }}'],
    ['{{ biz_date | add_days(1.5) }}', 'argument 1 of add_days must be an integer in {{ biz_date | add_days(1.5) }}'],
    ['{{ env | default }}', 'default takes 1 argument(s), got 0 in {{ env | default }}'],
    ['{{ env | default(a) }}', 'expected a string, number, true, false or null, found "a" in {{ env | default(a) }}'],
    [
      "{{ env | default('a' }}",
      'expected "," or ")" in the arguments of default, found "}}" in {{ env | default(\'a\' }}',
    ],
    ["{{ env | default('a) }}", "unterminated string in {{ env | default('a) }}"],
    ['{{ env env }}', 'expected "|" or "}}", found "e" in {{ env env }}'],
    ['{{ params[x] }}', 'expected a string, number, true, false or null, found "x" in {{ params[x] }}'],
    ['{{ params[-1] }}', 'expected a quoted key or an index >= 0 inside [ ] in {{ params[-1] }}'],
    [
      "{{ env | date('YYYY', 'Moon/Base') }}",
      'date: unknown time zone "Moon/Base" (expected an IANA name such as "Europe/Berlin" or "UTC") in {{ env | date(\'YYYY\', \'Moon/Base\') }}',
    ],
    ['{{ env | default("\\x") }}', 'unknown escape "\\x" in a string in {{ env | default("\\x") }}'],
  ])('rejects %s', (text, error) => {
    expect(validateTemplate(text)).toBe(error);
  });
});

describe('renderShellCommand', () => {
  const hostile = { ...ctx, params: { ...ctx.params, name: 'x; rm -rf /', quote: `it's "$(reboot)"`, nul: 'a\0b' } };

  it('keeps a hostile value out of the command text', () => {
    const result = renderShellCommand('echo {{ params.name }}', hostile);
    expect(result).toEqual({ ok: true, command: 'echo "${BATON_TPL_0}"', env: { BATON_TPL_0: 'x; rm -rf /' } });
    expect(result.ok && result.command).not.toContain('rm');
  });

  it.each<[string, string, Record<string, string>]>([
    ['ls /tmp', 'ls /tmp', {}],
    [
      'load {{ biz_date }} {{ params.quote }}',
      'load "${BATON_TPL_0}" "${BATON_TPL_1}"',
      { BATON_TPL_0: '2026-03-28', BATON_TPL_1: `it's "$(reboot)"` },
    ],
    ['echo "day={{ biz_date }}!"', 'echo "day=${BATON_TPL_0}!"', { BATON_TPL_0: '2026-03-28' }],
    ["echo 'day={{ biz_date }}!'", `echo 'day='"\${BATON_TPL_0}"'!'`, { BATON_TPL_0: '2026-03-28' }],
    ["echo $'a\\'{{ env }}'", `echo $'a\\''"\${BATON_TPL_0}"$''`, { BATON_TPL_0: 'prod' }],
    ['echo "it\'s" {{ env }}', 'echo "it\'s" "${BATON_TPL_0}"', { BATON_TPL_0: 'prod' }],
    ['echo \\" {{ env }}', 'echo \\" "${BATON_TPL_0}"', { BATON_TPL_0: 'prod' }],
    [
      'f {{ env }} && f "{{ env }}"',
      'f "${BATON_TPL_0}" && f "${BATON_TPL_1}"',
      { BATON_TPL_0: 'prod', BATON_TPL_1: 'prod' },
    ],
  ])('%s', (command, expected, env) => {
    expect(renderShellCommand(command, hostile)).toEqual({ ok: true, command: expected, env });
  });

  it.each<[string, string]>([
    ['echo {{ params.missing }}', 'unknown variable params.missing'],
    ['echo {{ params.x', 'unclosed "{{" at offset 5'],
    ['echo \\{{ env }}', 'a template must not follow a backslash: \\{{ env }}'],
    ['echo {{ params.nul }}', '{{ params.nul }} renders to a value with a NUL byte'],
  ])('%s fails', (command, error) => {
    expect(renderShellCommand(command, hostile)).toEqual({ ok: false, error });
  });
});

describe('paramsEnv', () => {
  it('names and encodes each top-level param', () => {
    expect(
      paramsEnv({
        region: 'eu',
        dryRun: true,
        maxRows: 100,
        'odd-key': 'x',
        HTTPServer: 'h',
        nested: { a: [1] },
        nothing: null,
        '--': 'dropped',
      }),
    ).toEqual({
      BATON_PARAM_REGION: 'eu',
      BATON_PARAM_DRY_RUN: 'true',
      BATON_PARAM_MAX_ROWS: '100',
      BATON_PARAM_ODD_KEY: 'x',
      BATON_PARAM_HTTP_SERVER: 'h',
      BATON_PARAM_NESTED: '{"a":[1]}',
      BATON_PARAM_NOTHING: '',
    });
  });
});

describe('secrets in templates', () => {
  const withSecrets: TemplateContext = { ...ctx, secrets: { DB_PASSWORD: 's3cr3t', TOKEN: 't' } };

  it.each<[string, string | null]>([
    ['{{ secrets.DB_PASSWORD }}', null],
    ['{{ secrets._x1 }}', null],
    ['{{ secrets }}', 'expected secrets.<NAME>'],
    ['{{ secrets.a.b }}', 'expected secrets.<NAME>'],
    ['{{ secrets["x"] }}', null],
    ['{{ secrets.1abc }}', 'expected secrets.<NAME>'],
    ['{{ secrets.bad-name }}', 'expected secrets.<NAME>'],
  ])('validates %s', (text, error) => {
    const reason = validateTemplate(text);
    if (error === null) expect(reason).toBeNull();
    else expect(reason).toContain(error);
  });

  it('renders a secret only from the context it is given, and names a missing one', () => {
    expect(renderTemplate('pw={{ secrets.DB_PASSWORD }}', withSecrets)).toEqual({ ok: true, value: 'pw=s3cr3t' });
    expect(renderTemplate('{{ secrets.NOPE }}', withSecrets)).toEqual({
      ok: false,
      error: 'secret NOPE does not exist in this tenant',
    });
    // No default for a secret: a task never runs with a secret silently replaced.
    expect(renderTemplate("{{ secrets.NOPE | default('x') }}", withSecrets).ok).toBe(false);
    expect(renderTemplate('{{ secrets.DB_PASSWORD }}', ctx).ok).toBe(false);
  });

  it('never quotes a secret in the error of a filter that cannot take it', () => {
    const r = renderTemplate('{{ secrets.DB_PASSWORD | add_days(1) }}', withSecrets);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain('s3cr3t');
    expect(JSON.stringify(r)).toContain('secrets.DB_PASSWORD');
    // Other variables still say what they got.
    expect(renderTemplate('{{ params.region | add_days(1) }}', withSecrets)).toMatchObject({
      error: expect.stringContaining('"eu"'),
    });
  });

  it('puts a secret into a shell command as an environment variable, never into the text', () => {
    const r = renderShellCommand('psql -p {{ secrets.DB_PASSWORD }}', withSecrets);
    expect(r).toEqual({ ok: true, command: 'psql -p "${BATON_TPL_0}"', env: { BATON_TPL_0: 's3cr3t' } });
  });

  it('lists the secrets a template refers to', () => {
    expect(secretRefs('{{ secrets.A }} {{ params.x }} {{ secrets.B | upper }} {{ secrets.A }}')).toEqual(['A', 'B']);
    expect(secretRefs('no templates')).toEqual([]);
    expect(secretRefs('{{ broken')).toEqual([]);
  });
});
