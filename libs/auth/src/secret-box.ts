import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One AES-256 key and the id stored beside every value sealed with it. */
export interface SealingKey {
  id: string;
  key: Buffer;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** A key id derived from the key itself, for a key configured without one. */
function fingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

/**
 * Parses a key ring: `id:base64url,id:base64url` (the first seals, all open),
 * or one bare base64url key whose id is its fingerprint. Throws naming the
 * bad entry, never printing a key.
 */
export function parseKeyRing(text: string): SealingKey[] {
  const keys: SealingKey[] = [];
  for (const [i, entry] of text
    .split(',')
    .map((e) => e.trim())
    .entries()) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? null : entry.slice(0, colon);
    const key = Buffer.from(colon < 0 ? entry : entry.slice(colon + 1), 'base64url');
    if (id !== null && !KEY_ID.test(id)) throw new Error(`key #${i + 1}: its id must match ${KEY_ID.source}`);
    if (key.length !== 32) throw new Error(`key #${i + 1}: must be 32 bytes, base64url`);
    const kid = id ?? fingerprint(key);
    if (keys.some((k) => k.id === kid)) throw new Error(`key #${i + 1}: id "${kid}" appears twice`);
    keys.push({ id: kid, key });
  }
  if (keys.length === 0) throw new Error('no key');
  return keys;
}

/** A sealed value: `v2.<key id>.<iv>.<tag>.<ciphertext>` (all base64url). */
export interface Sealed {
  text: string;
  keyId: string;
}

/**
 * Seals values at rest with AES-256-GCM under a key ring: the first key seals,
 * every key opens, so a new key is put first and the old ones are kept until
 * everything is sealed again. `aad` binds a ciphertext to where it belongs (a
 * tenant and a name), so a row copied elsewhere in the database does not open.
 * Also opens `v1.<iv>.<tag>.<ciphertext>` (webhook secrets sealed before key
 * ids), trying every key.
 */
export class SecretBox {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: readonly SealingKey[]) {
    if (keys.length === 0) throw new Error('a secret box needs a key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The configured key ring, else a key file in the data dir (development only; the caller refuses production). */
  static fromConfig(keyRing: string | null, dataDir: string, fileName: string): SecretBox {
    return new SecretBox(keyRing ? parseKeyRing(keyRing) : SecretBox.keyFile(dataDir, fileName));
  }

  /** `<dataDir>/<fileName>` (mode 0600) holding one base64url key, made on first use. */
  static keyFile(dataDir: string, fileName: string): SealingKey[] {
    const path = join(dataDir, fileName);
    if (!existsSync(path)) {
      mkdirSync(dataDir, { recursive: true });
      try {
        // `wx`: two processes starting together must not overwrite each other's key.
        writeFileSync(path, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
        chmodSync(path, 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    try {
      return parseKeyRing(readFileSync(path, 'utf8').trim());
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  seal(plain: string, aad = ''): Sealed {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const data = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    const b = (x: Buffer) => x.toString('base64url');
    return { text: ['v2', id, b(iv), b(c.getAuthTag()), b(data)].join('.'), keyId: id };
  }

  /** The value, or null when it was not sealed by a key of this ring (or for another `aad`). */
  open(sealed: string, aad = ''): string | null {
    const parts = sealed.split('.');
    if (parts[0] === 'v2' && parts.length === 5) {
      const key = this.byId.get(parts[1]!);
      return key ? decrypt(key, parts[2]!, parts[3]!, parts[4]!, aad) : null;
    }
    if (parts[0] === 'v1' && parts.length === 4) {
      for (const { key } of this.keys) {
        const plain = decrypt(key, parts[1]!, parts[2]!, parts[3]!, aad);
        if (plain !== null) return plain;
      }
    }
    return null;
  }

  /** The id of the key a sealed text names (v2), or null. */
  static keyIdOf(sealed: string): string | null {
    const parts = sealed.split('.');
    return parts[0] === 'v2' && parts.length === 5 ? parts[1]! : null;
  }
}

function decrypt(key: Buffer, iv: string, tag: string, data: string, aad: string): string | null {
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8');
  } catch {
    return null;
  }
}
