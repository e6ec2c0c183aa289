import { ProblemException } from './problem.js';

/** Opaque keyset cursor: the sort key and id of the last item of a page. */
export interface Cursor {
  k: number | string;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(text: string | undefined): Cursor | null {
  if (text === undefined || text === '') return null;
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if ((typeof c.k === 'number' || typeof c.k === 'string') && typeof c.id === 'string') return c;
  } catch {
    // falls through to the 400
  }
  throw ProblemException.invalidField('cursor', 'is not a cursor returned by this API');
}

/** A cursor whose key must be a number (instants, sequences); a cursor of another list is a 400. */
export function decodeNumericCursor(text: string | undefined): { k: number; id: string } | null {
  const c = decodeCursor(text);
  if (c === null) return null;
  if (typeof c.k !== 'number' || !Number.isFinite(c.k)) {
    throw ProblemException.invalidField('cursor', 'is not a cursor returned by this list');
  }
  return { k: c.k, id: c.id };
}

export function parseLimit(text: string | undefined, def = 50, max = 500): number {
  if (text === undefined || text === '') return def;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw ProblemException.invalidField('limit', `must be an integer between 1 and ${max}`);
  }
  return n;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
