import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretBox, parseKeyRing } from './secret-box.js';

const key = () => randomBytes(32).toString('base64url');

describe('parseKeyRing', () => {
  it.each([
    ['', /must be 32 bytes/],
    ['k1:short', /key #1: must be 32 bytes/],
    [`bad id!:${key()}`, /key #1: its id must match/],
    [`k1:${key()},k1:${key()}`, /key #2: id "k1" appears twice/],
  ])('refuses %j', (text, error) => {
    expect(() => parseKeyRing(text)).toThrow(error);
  });

  it('keeps the order (the first key is current) and fingerprints a bare key', () => {
    const bare = key();
    const ring = parseKeyRing(`new:${key()}, old:${key()},${bare}`);
    expect(ring.map((k) => k.id).slice(0, 2)).toEqual(['new', 'old']);
    expect(ring[2]!.id).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(parseKeyRing(bare)[0]!.id).toBe(ring[2]!.id);
  });
});

describe('SecretBox', () => {
  it('seals under the current key id and opens only with the same aad', () => {
    const box = new SecretBox(parseKeyRing(`k2:${key()}`));
    const sealed = box.seal('hunter2', 'baton-secret:t1:DB');
    expect(sealed.keyId).toBe('k2');
    expect(sealed.text.startsWith('v2.k2.')).toBe(true);
    expect(sealed.text).not.toContain('hunter2');
    expect(box.open(sealed.text, 'baton-secret:t1:DB')).toBe('hunter2');
    expect(box.open(sealed.text, 'baton-secret:t2:DB')).toBeNull();
  });

  it('rotates: a ring with a new key first still opens what the old key sealed', () => {
    const oldKey = key();
    const before = new SecretBox(parseKeyRing(`k1:${oldKey}`)).seal('v');
    const after = new SecretBox(parseKeyRing(`k2:${key()},k1:${oldKey}`));
    expect(after.open(before.text)).toBe('v');
    expect(after.seal('v').keyId).toBe('k2');
    expect(new SecretBox(parseKeyRing(`k2:${key()}`)).open(before.text)).toBeNull();
  });

  it('opens v1 texts sealed before key ids (webhook secrets)', () => {
    const k = key();
    // The v1 layout: v1.<iv>.<tag>.<data>, as the trigger service wrote it.
    const v2 = new SecretBox(parseKeyRing(k)).seal('old-secret').text.split('.');
    const v1 = ['v1', v2[2], v2[3], v2[4]].join('.');
    expect(new SecretBox(parseKeyRing(k)).open(v1)).toBe('old-secret');
  });

  it('makes a 0600 key file in the data dir once and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'box-'));
    const a = SecretBox.fromConfig(null, dir, 'x.key');
    const b = SecretBox.fromConfig(null, dir, 'x.key');
    expect(b.open(a.seal('same').text)).toBe('same');
    expect(statSync(join(dir, 'x.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'x.key'), 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
