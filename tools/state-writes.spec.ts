import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sources } from './sources.js';

/*
 * One state machine: the states of runs, task runs and attempts are written
 * by libs/persistence/src/transitions.ts alone (which checks each move
 * against libs/domain's tables). This test proves nothing else writes those
 * tables' rows: no query-builder or repository update, no raw UPDATE.
 */
const ROOT = resolve(__dirname, '..');
const OWNER = 'libs/persistence/src/transitions.ts';
const TABLES = ['RunEntity', 'TaskRunEntity', 'AttemptEntity'];

const WRITES: RegExp[] = [
  new RegExp(`\\b(?:update|save|upsert|increment|decrement)\\(\\s*(?:${TABLES.join('|')})\\b`),
  /\bUPDATE\s+`?(?:runs|task_runs|attempts)`?\s/i,
  /\bREPLACE\s+INTO\s+`?(?:runs|task_runs|attempts)`?\s/i,
];

export function stateWrites(text: string): string[] {
  return text.split('\n').filter((line) => WRITES.some((re) => re.test(line)));
}

describe('state writes', () => {
  it('recognises the writes it forbids', () => {
    expect(stateWrites('await m.createQueryBuilder().update(TaskRunEntity).set({ state })')).toHaveLength(1);
    expect(stateWrites("await m.update(AttemptEntity, { id }, { state: 'lost' })")).toHaveLength(1);
    expect(stateWrites("await m.query('UPDATE task_runs SET state = ? WHERE id = ?', [s, id])")).toHaveLength(1);
    expect(stateWrites('await m.update(AgentEntity, { id }, { lastSeenAt })')).toHaveLength(0);
  });

  it('happen only in the transition store', () => {
    const files = [...sources(join(ROOT, 'services')), ...sources(join(ROOT, 'libs'))];
    const offenders = files
      .map((f) => relative(ROOT, f))
      .filter((f) => f !== OWNER)
      .flatMap((f) => stateWrites(readFileSync(join(ROOT, f), 'utf8')).map((line) => `${f}: ${line.trim()}`));
    expect(offenders).toEqual([]);
    expect(stateWrites(readFileSync(join(ROOT, OWNER), 'utf8')).length).toBeGreaterThan(0);
  });
});
