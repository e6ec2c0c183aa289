import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type AuditKey,
  type ChainFields,
  GENESIS,
  chainHash,
  checkpointProblem,
  signCheckpoint,
  verifyChain,
} from './chain.js';

const k1: AuditKey = { id: 'k1', key: randomBytes(32) };
const k2: AuditKey = { id: 'k2', key: randomBytes(32) };
const attacker: AuditKey = { id: 'k1', key: randomBytes(32) };
const ring = new Map([k1, k2].map((k) => [k.id, k]));

type Rec = ChainFields & { prevHash: string; hash: string; keyId: string | null };

/** A chain of n records; `keyOf(seq)` gives each record's key (null: unkeyed). */
const build = (n: number, keyOf: (seq: number) => AuditKey | null = () => k1): Rec[] => {
  const out: Rec[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const f: ChainFields = {
      seq,
      eventId: `e${seq}`,
      action: 'PUT /api/v1/jobs/:name',
      actor: 'a',
      target: `/j/${seq}`,
      status: 200,
      detail: '{}',
      occurredAt: seq,
    };
    const key = keyOf(seq);
    const hash = chainHash(prev, f, key);
    out.push({ ...f, prevHash: prev, hash, keyId: key?.id ?? null });
    prev = hash;
  }
  return out;
};

/** Rewrites record `seq` and recomputes every hash after it with `key`, as a database writer would. */
const rewrite = (c: Rec[], seq: number, key: AuditKey | null): Rec[] => {
  const out: Rec[] = [];
  let prev = GENESIS;
  for (const r of c) {
    const f = r.seq === seq ? { ...r, status: 500 } : r;
    if (r.seq < seq) {
      out.push(r);
      prev = r.hash;
      continue;
    }
    const hash = chainHash(prev, f, key);
    out.push({ ...f, prevHash: prev, hash, keyId: key?.id ?? null });
    prev = hash;
  }
  return out;
};

describe('the keyed audit chain', () => {
  it.each<[string, () => Rec[], { ok: boolean; brokenAt: number | null; reason?: RegExp }]>([
    ['an intact chain', () => build(4), { ok: true, brokenAt: null }],
    ['a chain under two keys (rotated)', () => build(4, (s) => (s < 3 ? k1 : k2)), { ok: true, brokenAt: null }],
    ['unkeyed records before the key', () => build(4, (s) => (s < 3 ? null : k1)), { ok: true, brokenAt: null }],
    [
      'an edited record',
      () => build(4).map((r) => (r.seq === 2 ? { ...r, status: 500 } : r)),
      { ok: false, brokenAt: 2, reason: /modified/ },
    ],
    ['a deleted record', () => build(4).filter((r) => r.seq !== 2), { ok: false, brokenAt: 2, reason: /missing/ }],
    [
      'a relinked forgery',
      () => build(4).map((r) => (r.seq === 3 ? { ...r, prevHash: GENESIS } : r)),
      { ok: false, brokenAt: 3 },
    ],
    [
      'an edit with the chain recomputed under another key of the same id',
      () => rewrite(build(4), 2, attacker),
      { ok: false, brokenAt: 2, reason: /modified/ },
    ],
    [
      'an edit with the chain recomputed unkeyed',
      () => rewrite(build(4), 3, null),
      { ok: false, brokenAt: 3, reason: /unkeyed record after keyed ones/ },
    ],
    [
      'a record under a key that is not configured',
      () => build(3, (s) => (s === 2 ? { id: 'k9', key: randomBytes(32) } : k1)),
      { ok: false, brokenAt: 2, reason: /k9, which BATON_AUDIT_KEY does not hold/ },
    ],
  ])('%s', (_name, make, expected) => {
    const r = verifyChain(make(), ring);
    expect(r).toMatchObject({ ok: expected.ok, brokenAt: expected.brokenAt });
    if (expected.reason) expect(r.reason).toMatch(expected.reason);
  });

  it('counts keyed and unkeyed records', () => {
    expect(
      verifyChain(
        build(5, (s) => (s < 3 ? null : k2)),
        ring,
      ),
    ).toMatchObject({ keyed: 3, unkeyed: 2 });
  });
});

describe('signed checkpoints', () => {
  const chain = build(5);
  const hashAt = (c: Rec[]) => (seq: number) => c.find((r) => r.seq === seq)?.hash;
  const at = Date.UTC(2026, 11, 1);
  const cp = signCheckpoint({ tenantId: 't1', seq: 4, hash: chain[3]!.hash, at }, k1);

  it.each<[string, () => [typeof cp, Rec[]], RegExp | null]>([
    ['holds against the chain it was taken of', () => [cp, chain], null],
    ['holds after more records were appended', () => [cp, [...chain, ...build(6).slice(5)]], null],
    ['detects a cut tail', () => [cp, chain.slice(0, 3)], /record 4 is missing: the log was cut short/],
    ['detects a rewritten chain', () => [cp, rewrite(chain, 2, k1)], /record 4 differs from the checkpoint/],
    ['refuses a forged signature', () => [{ ...cp, seq: 3 }, chain], /signature does not match/],
    [
      'refuses one signed by a key not configured',
      () => [signCheckpoint({ tenantId: 't1', seq: 4, hash: chain[3]!.hash, at }, { id: 'k7', key: k1.key }), chain],
      /k7, which BATON_AUDIT_KEY does not hold/,
    ],
    ['refuses one of another tenant', () => [{ ...cp, tenantId: 't2' }, chain], /of tenant t2/],
  ])('%s', (_name, make, problem) => {
    const [c, records] = make();
    const found = checkpointProblem(c, ring, c.tenantId === 't2' ? 't1' : c.tenantId, hashAt(records));
    if (problem === null) expect(found).toBeNull();
    else expect(found).toMatch(problem);
  });
});
