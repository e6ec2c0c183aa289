import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { stringify } from 'csv-stringify/sync';
import type { Response } from 'express';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import {
  AuditCheckpointEntity,
  AuditEventEntity,
  AuditHeadEntity,
  Database,
  forUpdate,
  scoped,
} from '@baton/persistence';
import { ApiDoc, ProblemException, decodeNumericCursor, encodeCursor, parseInput, parseLimit } from '@baton/http';
import { type Checkpoint, checkpointProblem, verifyChain } from '../chain.js';
import { Checkpoints, checkpointView } from '../checkpoints.js';
import { AuditReview, recordView } from './audit-review.service.js';
import { AuditListQuery, AuditQuery, filterInput } from './audit.dto.js';

const CSV_COLUMNS = ['seq', 'occurredAt', 'actor', 'action', 'target', 'status', 'detail', 'hash'] as const;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits');
const CheckpointBody = z.strictObject({
  tenantId: z.string().min(1).max(36),
  seq: z.int().min(0),
  hash: Hex64,
  at: z.int().min(0),
  keyId: z.string().min(1).max(32),
  signature: Hex64,
});
const VerifyBody = z.strictObject({ checkpoints: z.array(CheckpointBody).max(100_000) });

@Controller('api/v1')
export class AuditController {
  constructor(
    private readonly db: Database,
    private readonly checkpoints: Checkpoints,
    private readonly review: AuditReview,
  ) {}

  /** The tenant's audit log, newest first, filtered (audit.dto.ts), in pages. */
  @Get('audit')
  @ApiDoc({
    summary:
      "The tenant's audit log, newest first: ?actor and ?target (substring), ?action (prefix), ?from/?to (ISO times of occurredAt, to exclusive), ?status (403 or 4xx), ?limit, ?cursor",
    query: AuditListQuery,
  })
  @Requires('read', 'Audit')
  async list(
    @CurrentPrincipal() p: Principal,
    @Query() query: Record<string, unknown>,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    const f = parseInput(AuditQuery, filterInput(query));
    const n = parseLimit(limit, 100, 1000);
    const after = decodeNumericCursor(cursor);
    const rows = await this.review.page(p, f, n + 1, after ? Number(after.k) : undefined);
    const page = rows.slice(0, n);
    const last = page[page.length - 1];
    return {
      items: page.map(recordView),
      nextCursor: rows.length > n && last ? encodeCursor({ k: last.seq, id: String(last.id) }) : null,
    };
  }

  /** The filtered records as CSV (RFC 4180), every one of them: read from the database in chunks while it streams. */
  @Get('audit.csv')
  @ApiDoc({
    summary:
      "The tenant's audit records as CSV, newest first, with the filters of GET /api/v1/audit (no limit): seq, occurredAt, actor, action, target, status, detail, hash",
    query: AuditQuery,
  })
  @Requires('read', 'Audit')
  async csv(@CurrentPrincipal() p: Principal, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const f = parseInput(AuditQuery, query);
    res.status(200);
    res.type('text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="audit-${p.tenantId}.csv"`);
    res.write(stringify([[...CSV_COLUMNS]]));
    try {
      for await (const rows of this.review.all(p, f)) {
        if (res.destroyed) return; // the client went away: stop reading
        const csv = stringify(
          rows.map((a) => [
            a.seq,
            new Date(a.occurredAt).toISOString(),
            a.actor,
            a.action,
            a.target,
            a.status,
            a.detail,
            a.hash,
          ]),
        );
        if (!res.write(csv)) await writable(res);
      }
      res.end();
    } catch (err) {
      // 200 is sent already: a cut connection tells the client the file is incomplete
      res.destroy(err as Error);
    }
  }

  /**
   * Recomputes the tenant's keyed chain and checks every stored checkpoint: an
   * edited, inserted or deleted record, or a cut tail, is reported with its
   * sequence number.
   */
  @Get('audit/verify')
  @Requires('read', 'Audit')
  verify(@CurrentPrincipal() p: Principal) {
    return this.check(p, []);
  }

  /** As GET, and also against checkpoints kept outside the database (`baton audit verify --checkpoints FILE`). */
  @Post('audit/verify')
  @HttpCode(200)
  @ApiDoc({ summary: 'Verify the audit chain, also against exported checkpoints', body: VerifyBody })
  @Requires('read', 'Audit')
  verifyWith(@CurrentPrincipal() p: Principal, @Body() body: unknown) {
    return this.check(p, parseInput(VerifyBody, body).checkpoints);
  }

  /** The tenant's signed checkpoints, oldest first: export them and keep them outside the database. */
  @Get('audit/checkpoints')
  @Requires('read', 'Audit')
  async listCheckpoints(@CurrentPrincipal() p: Principal) {
    const rows = await scoped(this.db.manager, p).find(AuditCheckpointEntity, { where: {}, order: { seq: 'ASC' } });
    return { items: rows.map(checkpointView) };
  }

  /** Signs a checkpoint of the chain's head now (none when the log is empty). */
  @Post('audit/checkpoints')
  @ApiDoc({ summary: "Sign a checkpoint of the tenant's audit chain head now", status: 201 })
  @Requires('read', 'Audit')
  async checkpointNow(@CurrentPrincipal() p: Principal) {
    return this.db.tx(async (m) => {
      const head = await forUpdate(this.db, scoped(m, p).query(AuditHeadEntity, 'h')).getOne();
      if (!head || head.seq === 0) throw ProblemException.conflict('the audit log is empty: nothing to checkpoint');
      return this.checkpoints.write(m, p, head, Date.now());
    });
  }

  private async check(p: Principal, external: readonly Checkpoint[]) {
    const keys = this.checkpoints.keys.byId;
    const rows = await scoped(this.db.manager, p).find(AuditEventEntity, { where: {}, order: { seq: 'ASC' } });
    const stored = await scoped(this.db.manager, p).find(AuditCheckpointEntity, { where: {}, order: { seq: 'ASC' } });
    const hashes = new Map(rows.map((r) => [r.seq, r.hash]));
    const failed: Array<{ seq: number; at: string; source: 'stored' | 'given'; problem: string }> = [];
    for (const [source, list] of [
      ['stored', stored.map(checkpointView)],
      ['given', external],
    ] as const) {
      for (const c of list) {
        const problem = checkpointProblem(c, keys, p.tenantId, (seq) => hashes.get(seq));
        if (problem) failed.push({ seq: c.seq, at: new Date(c.at).toISOString(), source, problem });
      }
    }
    const checkpoints = { checked: stored.length + external.length, failed };
    const r = verifyChain(rows, keys);
    if (!r.ok) return { ...r, checkpoints };
    // The chain head remembers the last record, so deleting the newest records is detected too.
    const head = await scoped(this.db.manager, p).findOne(AuditHeadEntity, { where: {} });
    const last = rows[rows.length - 1];
    if (head && (head.seq !== (last?.seq ?? 0) || (last !== undefined && head.hash !== last.hash))) {
      const after = last?.seq ?? 0;
      return {
        ...r,
        ok: false,
        brokenAt: after + 1,
        reason: `records after ${after} are missing`,
        checkpoints,
      };
    }
    if (failed.length > 0) {
      return { ...r, ok: false, brokenAt: failed[0]!.seq, reason: `checkpoint: ${failed[0]!.problem}`, checkpoints };
    }
    return { ...r, checkpoints };
  }
}

/** Resolves when the response takes more (drained) or will take nothing more (closed). */
function writable(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
