/**
 * `{{ path | filter(args) | ... }}` templates over a run's context. A
 * template is data, never code: paths read fields and filters are a fixed
 * table of pure functions, so a definition cannot run anything at render time.
 */
import { BoundedCache } from './bounded-cache.js';
import { validateTimeZone } from './cron.js';
import { formatIsoDate, formatWallClock, parseInstant, parseIsoDate, wallClock } from './time.js';

export interface TemplateContext {
  /** ISO instant of the run's logical date. */
  execution_date: string;
  /** `YYYY-MM-DD`: the business day the run is for. */
  biz_date: string;
  env: string;
  run_id: string;
  job: string;
  params: Record<string, unknown>;
  tasks: Record<string, { output: unknown }>;
  /**
   * The tenant's secrets a task refers to, by name: only in the context a task's
   * Assign is rendered with, never in `BATON_CONTEXT`, a run or a stored definition.
   */
  secrets?: Record<string, string>;
}

export interface TemplateContextInput {
  /** Epoch ms. */
  logicalDate: number;
  bizDateOffsetMs: number;
  /** Zone of biz_date; default UTC. */
  timezone?: string;
  env: string;
  runId: string;
  job: string;
  params: Record<string, unknown>;
  /** Output of each finished task, by task key. */
  outputs: Record<string, unknown>;
}

/** biz_date is the logical date minus the offset, read as a date in `timezone`: a nightly run at 02:00 processes yesterday. */
export function buildTemplateContext(input: TemplateContextInput): TemplateContext {
  const tasks: Record<string, { output: unknown }> = {};
  for (const [key, output] of Object.entries(input.outputs)) tasks[key] = { output };
  return {
    execution_date: new Date(input.logicalDate).toISOString(),
    biz_date: formatIsoDate(wallClock(input.logicalDate - input.bizDateOffsetMs, input.timezone ?? 'UTC')),
    env: input.env,
    run_id: input.runId,
    job: input.job,
    params: input.params,
    tasks,
  };
}

type Literal = string | number | boolean | null;

const SCALAR_ROOTS = ['execution_date', 'biz_date', 'env', 'run_id', 'job'] as const;
const ROOTS_HINT = 'execution_date, biz_date, env, run_id, job, params.*, tasks.<key>.output.*, secrets.<NAME>';

/** A secret's name: what `{{ secrets.NAME }}` refers to and `PUT /api/v1/secrets/{name}` stores. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

interface FilterSpec {
  /** Argument types in order; `?` marks an optional trailing one. */
  args: readonly ('string' | 'int' | 'any' | 'string?')[];
  check?: (args: readonly Literal[]) => string | null;
}

const FILTERS = {
  date: {
    args: ['string', 'string?'],
    check: (args) => (args[1] === undefined ? null : validateTimeZone(args[1] as string)),
  },
  add_days: { args: ['int'] },
  add_hours: { args: ['int'] },
  add_minutes: { args: ['int'] },
  default: { args: ['any'] },
  json: { args: [] },
  upper: { args: [] },
  lower: { args: [] },
  trim: { args: [] },
} satisfies Record<string, FilterSpec>;

type FilterName = keyof typeof FILTERS;
const FILTER_NAMES = Object.keys(FILTERS) as FilterName[];

interface Filter {
  name: FilterName;
  args: Literal[];
}

interface Expression {
  /** The expression as written, for error messages. */
  source: string;
  /** The path as it names a variable in messages, e.g. `params["odd-key"].x`. */
  display: string;
  path: (string | number)[];
  filters: Filter[];
}

type Part = { text: string } | { expr: Expression };

class TemplateSyntaxError extends Error {}

const IDENT = /[A-Za-z0-9_][A-Za-z0-9_-]*/y;
const NUMBER = /-?\d+(?:\.\d+)?/y;

/** Recursive-descent reader of the inside of one `{{ }}`. */
class ExpressionReader {
  pos: number;

  constructor(
    private readonly text: string,
    start: number,
  ) {
    this.pos = start;
  }

  private skipSpace(): void {
    while (/\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  private fail(message: string): never {
    throw new TemplateSyntaxError(message);
  }

  private describeHere(): string {
    if (this.pos >= this.text.length) return 'end of text';
    if (this.text.startsWith('}}', this.pos)) return '"}}"';
    return `"${this.text[this.pos]}"`;
  }

  private accept(token: string): boolean {
    this.skipSpace();
    if (!this.text.startsWith(token, this.pos)) return false;
    this.pos += token.length;
    return true;
  }

  private ident(what: string): string {
    this.skipSpace();
    IDENT.lastIndex = this.pos;
    const m = IDENT.exec(this.text);
    if (!m) this.fail(`expected ${what}, found ${this.describeHere()}`);
    this.pos = IDENT.lastIndex;
    return m[0];
  }

  private literal(): Literal {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '"' || c === "'") return this.string();
    NUMBER.lastIndex = this.pos;
    const num = NUMBER.exec(this.text);
    if (num) {
      this.pos = NUMBER.lastIndex;
      return Number(num[0]);
    }
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.pos) && !/[\w-]/.test(this.text[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return value;
      }
    }
    return this.fail(`expected a string, number, true, false or null, found ${this.describeHere()}`);
  }

  private string(): string {
    const quote = this.text[this.pos]!;
    let out = '';
    for (let i = this.pos + 1; i < this.text.length; i++) {
      const c = this.text[i]!;
      if (c === quote) {
        this.pos = i + 1;
        return out;
      }
      if (c === '\\') {
        const next = this.text[++i];
        if (next === 'n') out += '\n';
        else if (next === 't') out += '\t';
        else if (next === '\\' || next === '"' || next === "'") out += next;
        else this.fail(`unknown escape "\\${next ?? ''}" in a string`);
      } else out += c;
    }
    return this.fail('unterminated string');
  }

  /** Reads `path | filter(...)...` up to and including the closing `}}`. */
  expression(): Omit<Expression, 'source'> {
    const root = this.ident('a variable');
    const path: (string | number)[] = [root];
    let display = root;
    for (;;) {
      this.skipSpace();
      if (this.accept('.')) {
        const name = this.ident('a field name after "."');
        path.push(name);
        display += `.${name}`;
      } else if (this.accept('[')) {
        this.skipSpace();
        const key = this.literal();
        if (typeof key === 'number' ? !Number.isInteger(key) || key < 0 : typeof key !== 'string')
          this.fail('expected a quoted key or an index >= 0 inside [ ]');
        if (!this.accept(']')) this.fail(`expected "]", found ${this.describeHere()}`);
        path.push(key as string | number);
        display += `[${JSON.stringify(key)}]`;
      } else break;
    }
    checkPath(path, display);

    const filters: Filter[] = [];
    while (this.accept('|')) {
      const name = this.ident('a filter name after "|"');
      if (!Object.hasOwn(FILTERS, name))
        this.fail(`unknown filter "${name}" (expected one of ${FILTER_NAMES.join(', ')})`);
      const args: Literal[] = [];
      if (this.accept('(') && !this.accept(')')) {
        do args.push(this.literal());
        while (this.accept(','));
        if (!this.accept(')'))
          this.fail(`expected "," or ")" in the arguments of ${name}, found ${this.describeHere()}`);
      }
      checkArgs(name as FilterName, args);
      filters.push({ name: name as FilterName, args });
    }
    if (!this.accept('}}')) this.fail(`expected "|" or "}}", found ${this.describeHere()}`);
    return { path, display, filters };
  }
}

function checkPath(path: readonly (string | number)[], display: string): void {
  const root = path[0] as string;
  if ((SCALAR_ROOTS as readonly string[]).includes(root)) {
    if (path.length > 1) throw new TemplateSyntaxError(`${root} is a string and has no fields`);
  } else if (root === 'tasks') {
    if (path.length < 3 || path[2] !== 'output')
      throw new TemplateSyntaxError(`expected tasks.<key>.output or a field of it, got ${display}`);
  } else if (root === 'secrets') {
    const name = path[1];
    if (path.length !== 2 || typeof name !== 'string' || !SECRET_NAME.test(name))
      throw new TemplateSyntaxError(
        `expected secrets.<NAME> with a name matching ${SECRET_NAME.source}, got ${display}`,
      );
  } else if (root !== 'params') {
    throw new TemplateSyntaxError(`unknown variable "${root}" (expected ${ROOTS_HINT})`);
  }
}

function checkArgs(name: FilterName, args: readonly Literal[]): void {
  const spec: FilterSpec = FILTERS[name];
  const required = spec.args.filter((a) => !a.endsWith('?')).length;
  if (args.length < required || args.length > spec.args.length) {
    const expected = required === spec.args.length ? `${required}` : `${required} to ${spec.args.length}`;
    throw new TemplateSyntaxError(`${name} takes ${expected} argument(s), got ${args.length}`);
  }
  args.forEach((arg, i) => {
    const type = spec.args[i]!;
    if (type.startsWith('string') && typeof arg !== 'string')
      throw new TemplateSyntaxError(`argument ${i + 1} of ${name} must be a string`);
    if (type === 'int' && !Number.isSafeInteger(arg))
      throw new TemplateSyntaxError(`argument ${i + 1} of ${name} must be an integer`);
  });
  const reason = spec.check?.(args);
  if (reason) throw new TemplateSyntaxError(`${name}: ${reason}`);
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}

function parseTemplate(text: string): Part[] {
  const parts: Part[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf('{{', pos);
    if (open < 0) break;
    if (open > pos) parts.push({ text: text.slice(pos, open) });
    const reader = new ExpressionReader(text, open + 2);
    try {
      const expr = reader.expression();
      parts.push({ expr: { ...expr, source: text.slice(open, reader.pos) } });
    } catch (e) {
      if (!(e instanceof TemplateSyntaxError)) throw e;
      const end = text.indexOf('}}', open);
      if (end < 0 && reader.pos >= text.length) throw new TemplateSyntaxError(`unclosed "{{" at offset ${open}`);
      const source = end < 0 ? text.slice(open) : text.slice(open, end + 2);
      throw new TemplateSyntaxError(`${e.message} in ${snippet(source)}`);
    }
    pos = reader.pos;
  }
  if (pos < text.length) parts.push({ text: text.slice(pos) });
  return parts;
}

// Templates repeat across the runs of a job; parsing once per distinct text is enough.
const compiled = new BoundedCache<string, Part[] | { error: string }>(1000);

function compile(text: string): Part[] | { error: string } {
  let entry = compiled.get(text);
  if (entry === undefined) {
    try {
      entry = parseTemplate(text);
    } catch (e) {
      if (!(e instanceof TemplateSyntaxError)) throw e;
      entry = { error: e.message };
    }
    compiled.set(text, entry);
  }
  return entry;
}

/** The names of the secrets a template refers to (`{{ secrets.NAME }}`); none for a template that does not parse. */
export function secretRefs(text: string): string[] {
  const entry = compile(text);
  if ('error' in entry) return [];
  const names = new Set<string>();
  for (const part of entry) if ('expr' in part && part.expr.path[0] === 'secrets') names.add(String(part.expr.path[1]));
  return [...names];
}

/** The syntax error of a template (unclosed `{{`, unknown variable or filter, bad arguments), or null. */
export function validateTemplate(text: string): string | null {
  const entry = compile(text);
  return 'error' in entry ? entry.error : null;
}

const MISSING = Symbol('missing');

class RenderError extends Error {}

function lookup(container: unknown, key: string | number): unknown {
  if (Array.isArray(container)) {
    const index = typeof key === 'number' ? key : /^\d+$/.test(key) ? Number(key) : -1;
    return index >= 0 && index < container.length ? (container[index] as unknown) : MISSING;
  }
  // Own properties only: `constructor` or `__proto__` must not reach into the prototype.
  if (container !== null && typeof container === 'object' && Object.hasOwn(container, key))
    return (container as Record<string, unknown>)[key];
  return MISSING;
}

function resolve(path: readonly (string | number)[], ctx: TemplateContext): unknown {
  let value: unknown = ctx;
  for (const key of path) {
    value = lookup(value, key);
    if (value === MISSING || value === undefined) return MISSING;
  }
  return value;
}

/** Strings as is, numbers and booleans via String, null as empty, objects and arrays as JSON. */
function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

const UNIT_MS = { add_days: 86_400_000, add_hours: 3_600_000, add_minutes: 60_000 } as const;

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : stringify(value);
  return snippet(text);
}

function shiftTime(name: keyof typeof UNIT_MS, value: unknown, n: number): unknown {
  const delta = n * UNIT_MS[name];
  if (typeof value === 'string') {
    const instant = parseInstant(value);
    if (instant !== null) return new Date(instant + delta).toISOString();
    const date = parseIsoDate(value);
    if (date !== null) return formatIsoDate(wallClock(date + delta, 'UTC'));
  }
  throw new RenderError(`${name}: expected an ISO instant or a YYYY-MM-DD date, got ${describe(value)}`);
}

function formatDate(value: unknown, format: string, timezone: string): string {
  if (typeof value === 'string') {
    // A date has no time of day and no zone; its fields are printed as they are.
    const date = parseIsoDate(value);
    if (date !== null) return formatWallClock(wallClock(date, 'UTC'), format);
    const instant = parseInstant(value);
    if (instant !== null) return formatWallClock(wallClock(instant, timezone), format);
  }
  throw new RenderError(`date: expected an ISO instant or a YYYY-MM-DD date, got ${describe(value)}`);
}

function applyFilter(filter: Filter, value: unknown): unknown {
  // A missing value passes through until a default replaces it, so `x | upper | default('A')` works.
  if (filter.name === 'default') return value === MISSING || value === null ? filter.args[0] : value;
  if (value === MISSING) return MISSING;
  switch (filter.name) {
    case 'date':
      return formatDate(value, filter.args[0] as string, (filter.args[1] as string | undefined) ?? 'UTC');
    case 'add_days':
    case 'add_hours':
    case 'add_minutes':
      return shiftTime(filter.name, value, filter.args[0] as number);
    case 'json':
      return JSON.stringify(value);
    case 'upper':
      return stringify(value).toUpperCase();
    case 'lower':
      return stringify(value).toLowerCase();
    case 'trim':
      return stringify(value).trim();
    default: {
      const unknown: never = filter.name;
      throw new Error(`unknown filter ${String(unknown)}`);
    }
  }
}

function evaluate(expr: Expression, ctx: TemplateContext): string {
  if (expr.path[0] === 'secrets' && !Object.hasOwn(ctx.secrets ?? {}, expr.path[1]!)) {
    // Never a default: a task must not run with a secret quietly replaced.
    throw new RenderError(`secret ${String(expr.path[1])} does not exist in this tenant`);
  }
  let value = resolve(expr.path, ctx);
  try {
    for (const filter of expr.filters) value = applyFilter(filter, value);
  } catch (e) {
    // A filter's message quotes the value it could not take: never a secret's.
    if (e instanceof RenderError && expr.path[0] === 'secrets')
      throw new RenderError(`a filter of ${expr.display} cannot take its value (not shown: it is a secret)`);
    throw e;
  }
  if (value === MISSING) throw new RenderError(`unknown variable ${expr.display}`);
  return stringify(value);
}

export function renderTemplate(
  text: string,
  ctx: TemplateContext,
): { ok: true; value: string } | { ok: false; error: string } {
  const parts = compile(text);
  if ('error' in parts) return { ok: false, error: parts.error };
  let out = '';
  try {
    for (const part of parts) out += 'text' in part ? part.text : evaluate(part.expr, ctx);
  } catch (e) {
    if (e instanceof RenderError) return { ok: false, error: e.message };
    throw e;
  }
  return { ok: true, value: out };
}

type Quoting = 'none' | 'single' | 'double' | 'ansi';

/**
 * Follows POSIX shell quoting through `text`, starting in `state`. Returns the
 * state at the end and whether the text ends in an unconsumed backslash.
 */
function scanQuoting(text: string, state: Quoting): { state: Quoting; escape: boolean } {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && state !== 'single') {
      if (i + 1 >= text.length) return { state, escape: true };
      i++;
    } else if (state === 'none') {
      if (c === "'") state = 'single';
      else if (c === '"') state = 'double';
      else if (c === '$' && text[i + 1] === "'") {
        state = 'ansi';
        i++;
      }
    } else if ((state === 'single' || state === 'ansi') && c === "'") state = 'none';
    else if (state === 'double' && c === '"') state = 'none';
  }
  return { state, escape: false };
}

/**
 * Renders a shell command without ever splicing a value into it: each
 * `{{ … }}` becomes a reference to an environment variable `BATON_TPL_<n>`
 * (n from 0) that holds the rendered value, so a value such as `x; rm -rf /`
 * stays one inert word. The reference is `"${BATON_TPL_n}"` outside quotes,
 * `${BATON_TPL_n}` inside double quotes, and closes and reopens single
 * quotes around itself, so it expands wherever the template stood.
 */
export function renderShellCommand(
  command: string,
  ctx: TemplateContext,
): { ok: true; command: string; env: Record<string, string> } | { ok: false; error: string } {
  const parts = compile(command);
  if ('error' in parts) return { ok: false, error: parts.error };
  const env: Record<string, string> = {};
  let out = '';
  let quoting: Quoting = 'none';
  let escape = false;
  try {
    for (const part of parts) {
      if ('text' in part) {
        ({ state: quoting, escape } = scanQuoting(part.text, quoting));
        out += part.text;
        continue;
      }
      if (escape) throw new RenderError(`a template must not follow a backslash: \\${snippet(part.expr.source)}`);
      const value = evaluate(part.expr, ctx);
      if (value.includes('\0'))
        throw new RenderError(`${snippet(part.expr.source)} renders to a value with a NUL byte`);
      const name = `BATON_TPL_${Object.keys(env).length}`;
      env[name] = value;
      switch (quoting) {
        case 'none':
          out += `"\${${name}}"`;
          break;
        case 'double':
          out += `\${${name}}`;
          break;
        case 'single':
          out += `'"\${${name}}"'`;
          break;
        case 'ansi':
          out += `'"\${${name}}"$'`;
          break;
        default: {
          const unknown: never = quoting;
          throw new Error(`unknown quoting ${String(unknown)}`);
        }
      }
    }
  } catch (e) {
    if (e instanceof RenderError) return { ok: false, error: e.message };
    throw e;
  }
  return { ok: true, command: out, env };
}

/** `dryRun` -> `DRY_RUN`, `odd-key` -> `ODD_KEY`, `HTTPServer` -> `HTTP_SERVER`. */
function upperSnake(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

/**
 * `BATON_PARAM_<UPPER_SNAKE>` for each top-level param: strings as is,
 * numbers and booleans via String, null as empty, objects as JSON. A key
 * without letters or digits has no name and is left out.
 */
export function paramsEnv(params: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    const name = upperSnake(key);
    if (name === '' || value === undefined) continue;
    env[`BATON_PARAM_${name}`] = stringify(value);
  }
  return env;
}
