import { describe, expect, it } from 'vitest';
import { type JobDefinition, parseJobDefinition } from '@baton/domain';
import { keepMaskedPasswords, maskDefinition } from './jobs.service.js';

const def = (url: string, key = 'q'): JobDefinition => {
  const r = parseJobDefinition({
    name: 'etl',
    tasks: [{ key, type: 'sql', sql: { driver: 'postgres', url, statement: 'select 1' } }],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
};

describe('keepMaskedPasswords', () => {
  const stored = def('postgres://etl:s3cret@db:5432/x');
  const urlOf = (d: JobDefinition) => d.tasks[0]!.sql!.url;

  it('keeps the stored password when the definition comes back as the API showed it', () => {
    const shown = maskDefinition(stored);
    expect(urlOf(shown)).toBe('postgres://etl:***@db:5432/x');
    expect(urlOf(keepMaskedPasswords(shown, stored))).toBe('postgres://etl:s3cret@db:5432/x');
  });

  it('takes a new password, a new host or another task as sent', () => {
    expect(urlOf(keepMaskedPasswords(def('postgres://etl:new@db:5432/x'), stored))).toBe(
      'postgres://etl:new@db:5432/x',
    );
    expect(urlOf(keepMaskedPasswords(def('postgres://etl:***@other:5432/x'), stored))).toBe(
      'postgres://etl:***@other:5432/x',
    );
    expect(urlOf(keepMaskedPasswords(def('postgres://etl:***@db:5432/x', 'other'), stored))).toBe(
      'postgres://etl:***@db:5432/x',
    );
    expect(urlOf(keepMaskedPasswords(def('postgres://etl:***@db:5432/x'), null))).toBe('postgres://etl:***@db:5432/x');
  });
});
