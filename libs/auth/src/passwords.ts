import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// The library's defaults are argon2id, 19 MiB, 2 passes, 1 lane: OWASP's first recommendation.
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

let dummy: Promise<string> | null = null;

/**
 * Whether `password` matches `stored`. Without a stored hash (no such user, or
 * no password) it still verifies against a throwaway hash, so that a wrong
 * email takes as long as a wrong password.
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (stored === null) {
    dummy ??= hash(randomBytes(16).toString('hex'));
    await verify(await dummy, password).catch(() => false);
    return false;
  }
  return verify(stored, password).catch(() => false);
}

/** A password for the generated first admin: 24 random characters, shown once. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
