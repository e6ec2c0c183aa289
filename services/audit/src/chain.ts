import { createHash } from 'node:crypto';

export const GENESIS = '0'.repeat(64);

export interface ChainFields {
  seq: number;
  eventId: string;
  action: string;
  actor: string;
  target: string;
  status: number;
  detail: string;
  occurredAt: number;
}

/** The hash of one record, chained to the previous one; any edit, insertion or deletion breaks the chain. */
export function chainHash(prevHash: string, f: ChainFields): string {
  const canonical = JSON.stringify([f.seq, f.eventId, f.action, f.actor, f.target, f.status, f.detail, f.occurredAt]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** The first record whose hash or link does not match. */
  brokenAt: number | null;
  reason: string | null;
}

/** Walks records in sequence order and checks every link. */
export function verifyChain(records: ReadonlyArray<ChainFields & { prevHash: string; hash: string }>): VerifyResult {
  let prev = GENESIS;
  let expectedSeq = 1;
  for (const r of records) {
    if (r.seq !== expectedSeq)
      return { ok: false, checked: expectedSeq - 1, brokenAt: expectedSeq, reason: `record ${expectedSeq} is missing` };
    if (r.prevHash !== prev)
      return { ok: false, checked: r.seq - 1, brokenAt: r.seq, reason: 'link to the previous record does not match' };
    if (chainHash(prev, r) !== r.hash)
      return { ok: false, checked: r.seq - 1, brokenAt: r.seq, reason: 'record was modified' };
    prev = r.hash;
    expectedSeq++;
  }
  return { ok: true, checked: records.length, brokenAt: null, reason: null };
}
