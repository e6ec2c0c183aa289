import { describe, expect, it } from 'vitest';
import { type ChainFields, GENESIS, chainHash, verifyChain } from './chain.js';

const build = (n: number) => {
  const out: Array<ChainFields & { prevHash: string; hash: string }> = [];
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
    const hash = chainHash(prev, f);
    out.push({ ...f, prevHash: prev, hash });
    prev = hash;
  }
  return out;
};

describe('audit hash chain', () => {
  it.each([
    ['an intact chain', (c: ReturnType<typeof build>) => c, { ok: true, brokenAt: null }],
    [
      'an edited record',
      (c: ReturnType<typeof build>) => c.map((r) => (r.seq === 2 ? { ...r, status: 500 } : r)),
      { ok: false, brokenAt: 2 },
    ],
    ['a deleted record', (c: ReturnType<typeof build>) => c.filter((r) => r.seq !== 2), { ok: false, brokenAt: 2 }],
    [
      'a deleted tail is not detectable by links alone, but the count is',
      (c: ReturnType<typeof build>) => c.slice(0, 2),
      { ok: true, brokenAt: null },
    ],
    [
      'a relinked forgery',
      (c: ReturnType<typeof build>) => c.map((r) => (r.seq === 3 ? { ...r, prevHash: GENESIS } : r)),
      { ok: false, brokenAt: 3 },
    ],
  ])('%s', (_name, mutate, expected) => {
    expect(verifyChain(mutate(build(4)))).toMatchObject(expected);
  });
});
