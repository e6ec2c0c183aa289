import { createHash } from 'node:crypto';

const SAFE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * File-system name for an attempt id. Ids come from the server, so anything
 * that could escape the directory (slashes, '..') is replaced by a hash.
 */
export function safeName(id: string): string {
  if (SAFE.test(id)) return id;
  return `h-${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}
