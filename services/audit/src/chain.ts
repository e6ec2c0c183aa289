import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

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

/** A key of `BATON_AUDIT_KEY`: records and checkpoints carry its id. */
export interface AuditKey {
  id: string;
  key: Buffer;
}

/**
 * The hash of one record, chained to the previous one; any edit, insertion or
 * deletion breaks the chain. Keyed (HMAC-SHA256 under a key that lives outside
 * the database), so a database writer cannot recompute the chain after an
 * edit; `key` null is the unkeyed SHA-256 of records written before the key.
 */
export function chainHash(prevHash: string, f: ChainFields, key: AuditKey | null = null): string {
  const canonical = JSON.stringify([f.seq, f.eventId, f.action, f.actor, f.target, f.status, f.detail, f.occurredAt]);
  const h = key ? createHmac('sha256', key.key) : createHash('sha256');
  return h.update(prevHash).update('\n').update(canonical).digest('hex');
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** The first record whose hash or link does not match. */
  brokenAt: number | null;
  reason: string | null;
  /** Records chained under a key, and without one (written before the key existed). */
  keyed?: number;
  unkeyed?: number;
}

type StoredRecord = ChainFields & { prevHash: string; hash: string; keyId: string | null };

/**
 * Walks records in sequence order and checks every link with the key each
 * names. A record under a key that is not configured, or an unkeyed record
 * after a keyed one (a rewrite that dropped the key), breaks the chain.
 */
export function verifyChain(records: readonly StoredRecord[], keys: ReadonlyMap<string, AuditKey>): VerifyResult {
  let prev = GENESIS;
  let expectedSeq = 1;
  let keyed = 0;
  const broken = (seq: number, reason: string): VerifyResult => ({
    ok: false,
    checked: seq - 1,
    brokenAt: seq,
    reason,
    keyed,
    unkeyed: seq - 1 - keyed,
  });
  for (const r of records) {
    if (r.seq !== expectedSeq) return broken(expectedSeq, `record ${expectedSeq} is missing`);
    if (r.prevHash !== prev) return broken(r.seq, 'link to the previous record does not match');
    let key: AuditKey | null = null;
    if (r.keyId !== null) {
      key = keys.get(r.keyId) ?? null;
      if (!key) return broken(r.seq, `record is keyed with ${r.keyId}, which BATON_AUDIT_KEY does not hold`);
    } else if (keyed > 0) {
      return broken(r.seq, 'an unkeyed record after keyed ones: the chain was rewritten');
    }
    if (!sameHex(chainHash(prev, r, key), r.hash)) return broken(r.seq, 'record was modified');
    if (key) keyed++;
    prev = r.hash;
    expectedSeq++;
  }
  return { ok: true, checked: records.length, brokenAt: null, reason: null, keyed, unkeyed: records.length - keyed };
}

/** A tenant's chain head at a moment, signed with an audit key: kept outside the database, it pins the chain. */
export interface Checkpoint {
  tenantId: string;
  seq: number;
  hash: string;
  /** Epoch ms. */
  at: number;
  keyId: string;
  signature: string;
}

function checkpointText(c: Omit<Checkpoint, 'signature' | 'keyId'>): string {
  return `baton-audit-checkpoint\n${c.tenantId}\n${c.seq}\n${c.hash}\n${c.at}`;
}

export function signCheckpoint(c: Omit<Checkpoint, 'signature' | 'keyId'>, key: AuditKey): Checkpoint {
  const signature = createHmac('sha256', key.key).update(checkpointText(c)).digest('hex');
  return { ...c, keyId: key.id, signature };
}

/** Why a checkpoint does not hold against the stored chain, or null when it does. */
export function checkpointProblem(
  c: Checkpoint,
  keys: ReadonlyMap<string, AuditKey>,
  tenantId: string,
  hashAt: (seq: number) => string | undefined,
): string | null {
  if (c.tenantId !== tenantId) return `checkpoint of tenant ${c.tenantId}, not of this tenant`;
  const key = keys.get(c.keyId);
  if (!key) return `signed with key ${c.keyId}, which BATON_AUDIT_KEY does not hold`;
  const expected = signCheckpoint(c, key).signature;
  if (!sameHex(expected, c.signature)) return 'its signature does not match: the checkpoint is not genuine';
  if (c.seq === 0) return null;
  const stored = hashAt(c.seq);
  if (stored === undefined) return `record ${c.seq} is missing: the log was cut short`;
  if (stored !== c.hash) return `record ${c.seq} differs from the checkpoint: the chain was rewritten`;
  return null;
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
