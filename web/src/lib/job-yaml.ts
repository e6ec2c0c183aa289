import type { ErrorObject, ValidateFunction } from 'ajv';
import { type Document, LineCounter, isMap, isNode, isPair, isScalar, isSeq, parseDocument } from 'yaml';

/** A problem in the editor's text: a character range and what is wrong there. */
export interface TextProblem {
  from: number;
  to: number;
  /** The field as the API names it (`tasks[0].type`), or '' for the document. */
  path: string;
  message: string;
  /** 1-based line of `from`. */
  line: number;
}

/** The few words this module adds to the validator's messages; the caller translates them. */
export interface ProblemWords {
  unknownField: (field: string) => string;
  required: (field: string) => string;
  oneOf: (values: string) => string;
}

type Segment = string | number;

export interface ParsedJobYaml {
  doc: Document;
  value: unknown;
  lines: LineCounter;
  syntax: TextProblem[];
}

export function parseJobYaml(text: string): ParsedJobYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const line = (pos: number) => lines.linePos(pos).line;
  const syntax = doc.errors.map((e) => ({
    from: e.pos[0],
    to: Math.max(e.pos[1], e.pos[0] + 1),
    path: '',
    message: e.message.split('\n')[0]!,
    line: line(e.pos[0]),
  }));
  let value: unknown = null;
  if (syntax.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      syntax.push({ from: 0, to: Math.min(text.length, 1), path: '', message: String(err), line: 1 });
    }
  }
  return { doc, value, lines, syntax };
}

/** `tasks[0].retry.maxAttempts` (the API's field paths) as segments. */
export function apiPathSegments(path: string): Segment[] {
  const out: Segment[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(`"${m[3]}"`) as string);
    else if (m[1] !== undefined && m[1] !== '(body)') out.push(m[1]);
  }
  return out;
}

function apiPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

const pointerSegments = (pointer: string): Segment[] =>
  pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));

/**
 * The text range of the node at `path`, or of its nearest ancestor that
 * exists; `key` picks a map entry's key instead of its value (for unknown fields).
 */
export function locate(doc: Document, path: readonly Segment[], key?: string): [number, number] {
  let node: unknown = doc.contents;
  let range: [number, number] = rangeOf(node) ?? [0, 0];
  const steps = key === undefined ? path : [...path, key];
  for (const [i, seg] of steps.entries()) {
    const wantKey = key !== undefined && i === steps.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const keyRange = rangeOf(pair.key);
      if (wantKey) return keyRange ?? range;
      node = pair.value;
      // A key without a value (`command:`) points at the key.
      range = rangeOf(node) ?? keyRange ?? range;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined) break;
      node = item;
      range = rangeOf(node) ?? range;
    } else break;
  }
  return range;
}

function rangeOf(node: unknown): [number, number] | null {
  if (isNode(node) && node.range) {
    const [from, valueEnd] = node.range;
    // A multi-line block (a task) is marked on its first line only, so the mark stays readable.
    return [from, Math.max(valueEnd, from + 1)];
  }
  if (isPair(node)) return rangeOf(node.key);
  return null;
}

function firstLineEnd(text: string, from: number, to: number): number {
  const nl = text.indexOf('\n', from);
  return nl === -1 || nl > to ? to : Math.max(nl, from + 1);
}

/**
 * The validator's errors, one per field, placed on the text: `oneOf` branches
 * whose discriminator (`type`) does not match are dropped, so an unknown
 * trigger type reads as one error, not one per trigger kind.
 */
export function schemaProblems(
  validate: ValidateFunction,
  parsed: ParsedJobYaml,
  text: string,
  words: ProblemWords,
): TextProblem[] {
  if (parsed.syntax.length > 0) return [];
  if (validate(parsed.value)) return [];
  const errors = validate.errors ?? [];
  // A oneOf branch whose discriminator (`type`) is not the one written, or is missing.
  const wrongBranch = new Set<string>();
  const allowedTypes = new Map<string, string[]>();
  for (const e of errors) {
    const c = /^(.*\/oneOf\/\d+)\/properties\/type\/const$/.exec(e.schemaPath);
    if (c) {
      wrongBranch.add(c[1]!);
      const list = allowedTypes.get(e.instancePath) ?? [];
      list.push(String((e.params as { allowedValue: unknown }).allowedValue));
      allowedTypes.set(e.instancePath, list);
    }
    const r = /^(.*\/oneOf\/\d+)\/required$/.exec(e.schemaPath);
    if (r && (e.params as { missingProperty?: string }).missingProperty === 'type') wrongBranch.add(r[1]!);
  }
  const inWrongBranch = (e: ErrorObject) => [...wrongBranch].some((b) => e.schemaPath.startsWith(`${b}/`));

  const out: TextProblem[] = [];
  const seen = new Set<string>();
  const add = (segments: Segment[], message: string, key?: string) => {
    const [from, to] = locate(parsed.doc, segments, key);
    const path = apiPath(key === undefined ? segments : [...segments, key]);
    if (seen.has(`${path}\n${message}`)) return;
    seen.add(`${path}\n${message}`);
    out.push({ from, to: firstLineEnd(text, from, to), path, message, line: parsed.lines.linePos(from).line });
  };
  for (const e of errors) {
    const at = pointerSegments(e.instancePath);
    if (e.keyword === 'oneOf') {
      const inside = errors.filter((x) => x.schemaPath.startsWith(`${e.schemaPath}/`) && !inWrongBranch(x));
      if (inside.length > 0) continue; // the branch of the written type says what is wrong
      const types = allowedTypes.get(`${e.instancePath}/type`);
      // Every branch was the wrong type: the type itself is the problem.
      if (types) add([...at, 'type'], words.oneOf(types.join(', ')));
      else add(at, words.required('type'));
      continue;
    }
    if (inWrongBranch(e)) continue;
    if (e.keyword === 'additionalProperties') {
      const field = String((e.params as { additionalProperty: string }).additionalProperty);
      add(at, words.unknownField(field), field);
    } else if (e.keyword === 'required') {
      add(at, words.required(String((e.params as { missingProperty: string }).missingProperty)));
    } else if (e.keyword === 'enum') {
      const values = (e.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ');
      add(at, words.oneOf(values));
    } else {
      add(at, e.message ?? e.keyword);
    }
  }
  return out;
}

/** The API's field errors (problem+json `errors[]`) placed on the text they name. */
export function fieldProblems(
  parsed: ParsedJobYaml,
  text: string,
  errors: ReadonlyArray<{ path?: string; message?: string }>,
): TextProblem[] {
  return errors.map((e) => {
    const [from, to] = locate(parsed.doc, apiPathSegments(e.path ?? ''));
    return {
      from,
      to: firstLineEnd(text, from, to),
      path: e.path ?? '',
      message: e.message ?? '',
      line: parsed.lines.linePos(from).line,
    };
  });
}
