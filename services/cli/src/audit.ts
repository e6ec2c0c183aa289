import { readFileSync, writeFileSync } from 'node:fs';
import { type ApiClient, CliError } from './client.js';

type Out = (line: string) => void;

interface Checkpoint {
  tenantId: string;
  seq: number;
  hash: string;
  at: number;
  keyId: string;
  signature: string;
}

interface Verdict {
  ok: boolean;
  checked: number;
  brokenAt: number | null;
  reason: string | null;
  keyed?: number;
  unkeyed?: number;
  checkpoints: { checked: number; failed: Array<{ seq: number; at: string; source: string; problem: string }> };
}

/** Reads an exported checkpoints file (`baton audit checkpoints --out FILE`): `{items: [...]}` or a list. */
function readCheckpoints(file: string): Checkpoint[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--checkpoints ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const items = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown }).items;
  if (!Array.isArray(items)) throw new CliError(`--checkpoints ${file}: expected {"items": [...]} or a JSON list`);
  return items as Checkpoint[];
}

/** Verifies the tenant's audit chain (and the given checkpoints); exit code 1 when it does not hold. */
export async function verifyAudit(api: ApiClient, checkpoints: string | undefined, out: Out): Promise<number> {
  const v = checkpoints
    ? await api.request<Verdict>('POST', '/api/v1/audit/verify', { checkpoints: readCheckpoints(checkpoints) })
    : await api.request<Verdict>('GET', '/api/v1/audit/verify');
  const kinds = v.keyed !== undefined ? ` (${v.keyed} keyed, ${v.unkeyed ?? 0} unkeyed)` : '';
  const cps = `${v.checkpoints.checked} checkpoint(s)`;
  if (v.ok) {
    out(`audit log intact: ${v.checked} record(s)${kinds}, ${cps} hold`);
    return 0;
  }
  out(`audit log BROKEN at record ${v.brokenAt}: ${v.reason}`);
  for (const f of v.checkpoints.failed) out(`  checkpoint ${f.seq} (${f.source}, ${f.at}): ${f.problem}`);
  return 1;
}

/** Signs a checkpoint now (with --now) and writes every checkpoint to a file or standard output. */
export async function exportCheckpoints(api: ApiClient, o: { out?: string; now?: boolean }, out: Out): Promise<void> {
  if (o.now) {
    const c = await api.request<Checkpoint>('POST', '/api/v1/audit/checkpoints', {});
    if (o.out) out(`checkpoint signed at record ${c.seq}`);
  }
  const page = await api.request<{ items: Checkpoint[] }>('GET', '/api/v1/audit/checkpoints');
  const text = JSON.stringify(page, null, 2) + '\n';
  if (!o.out) return out(text.trimEnd());
  writeFileSync(o.out, text);
  out(`${page.items.length} checkpoint(s) written to ${o.out}; keep the file outside the database`);
}

/** The review filters of `baton audit list` and `baton audit export`, as the API names them. */
export interface AuditFilters {
  actor?: string;
  action?: string;
  target?: string;
  from?: string;
  to?: string;
  status?: string;
}

interface AuditRecord {
  seq: number;
  occurredAt: string;
  actor: string;
  action: string;
  target: string;
  status: number;
}

function filterQuery(f: AuditFilters, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, ...extra })) if (v !== undefined) q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

const pad = (s: string, n: number) => s.padEnd(n);

/** The newest `limit` matching records (following the API's pages), newest first. */
export async function listAudit(api: ApiClient, f: AuditFilters, limit: string | undefined, out: Out): Promise<void> {
  const want = limit === undefined ? 50 : Number(limit);
  if (!Number.isInteger(want) || want < 1) throw new CliError('--limit: must be a positive integer');
  const items: AuditRecord[] = [];
  let cursor: string | null = null;
  do {
    const extra: Record<string, string> = { limit: String(Math.min(want - items.length, 1000)) };
    if (cursor) extra.cursor = cursor;
    const page = await api.request<{ items: AuditRecord[]; nextCursor: string | null }>(
      'GET',
      `/api/v1/audit${filterQuery(f, extra)}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < want);
  out(`${pad('SEQ', 6)} ${pad('OCCURRED', 24)} ${pad('STATUS', 6)} ${pad('ACTOR', 28)} ${pad('ACTION', 36)} TARGET`);
  for (const a of items) {
    out(
      `${pad(String(a.seq), 6)} ${pad(a.occurredAt, 24)} ${pad(String(a.status), 6)} ${pad(a.actor, 28)} ${pad(a.action, 36)} ${a.target}`,
    );
  }
  if (cursor) out(`(more: raise --limit or narrow the filters)`);
}

/** Streams every matching record as CSV into `file` (GET /api/v1/audit.csv). */
export async function exportAudit(api: ApiClient, f: AuditFilters, file: string, out: Out): Promise<void> {
  await api.download(`/api/v1/audit.csv${filterQuery(f)}`, file);
  out(`audit records written to ${file} (CSV)`);
}
