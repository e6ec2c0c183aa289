import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { Observable, tap } from 'rxjs';
import { Reflector } from '@nestjs/core';
import { AUDITS_ITSELF, type Principal, actorOf } from '@baton/auth';
import { Database, type FirstTransactionWrite, withFirstTransaction } from '@baton/persistence';
import { type AuditRecord, OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { LOGGER, type Logger } from '@baton/telemetry';

/** Where `@HttpCode()` keeps a route's status (`HTTP_CODE_METADATA` of @nestjs/common, not exported from its index). */
const HTTP_CODE_METADATA = '__httpCode__';

/**
 * Every mutating API call (anything but GET) is audited with who made it,
 * what it addressed and how it ended, through the outbox to the audit topic.
 * The record of a call that changes something is written in the call's first
 * transaction, so it commits with the change; a failure, or a call that wrote
 * nothing, is recorded after it. Bodies are not recorded: they may hold secrets.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(LOGGER) logger: Logger,
    private readonly reflector: Reflector,
  ) {
    this.log = logger.child('audit');
  }

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx
      .switchToHttp()
      .getRequest<{ method: string; route?: { path?: string }; originalUrl: string; principal?: Principal }>();
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next.handle();
    // Such a route records its success in its own transaction; a failure is still recorded here.
    const auditsItself = this.reflector.getAllAndOverride<boolean>(AUDITS_ITSELF, [ctx.getHandler(), ctx.getClass()]);
    const recordOf = (status: number): AuditRecord | null => {
      const p = req.principal;
      if (!p) return null; // unauthenticated calls are rejected before any effect
      return {
        tenantId: p.tenantId,
        action: `${req.method} ${req.route?.path ?? req.originalUrl.split('?')[0]}`,
        actor: actorOf(p),
        target: req.originalUrl.split('?')[0]!.slice(0, 300),
        status,
        // A platform admin acting inside this tenant says where from.
        detail: p.actingFrom ? { actingFrom: p.actingFrom } : {},
        occurredAt: Date.now(),
      };
    };
    /** After the call, for what its transactions did not carry: a failure, or a call that wrote nothing. */
    const recordAfter = (status: number) => {
      const rec = recordOf(status);
      if (!rec) return;
      void this.db
        .tx((m) => enqueueAudit(m, rec))
        .then(() => this.relay.kick())
        .catch((err: unknown) =>
          this.log.error('audit record not written', { error: String(err), action: rec.action }),
        );
    };
    const res = ctx.switchToHttp().getResponse<{ statusCode: number }>();
    // The success record rides in the call's first transaction: it commits with the change or not at all.
    const expected =
      this.reflector.get<number | undefined>(HTTP_CODE_METADATA, ctx.getHandler()) ??
      (req.method === 'POST' ? 201 : 200);
    const carried: FirstTransactionWrite = {
      taken: false,
      committed: false,
      write: async (m) => {
        const rec = recordOf(expected);
        if (rec) await enqueueAudit(m, rec);
      },
    };
    const handled = auditsItself
      ? next.handle()
      : new Observable<unknown>((sub) => withFirstTransaction(carried, () => next.handle().subscribe(sub)));
    // Once the call has answered, nothing started under it (a relay it kicked, the record below) carries it.
    const close = () => {
      carried.closed = true;
      return carried.committed;
    };
    return handled.pipe(
      tap({
        next: () => {
          if (close()) this.relay.kick();
          else if (!auditsItself) recordAfter(res.statusCode);
        },
        error: (err: unknown) => {
          if (close()) this.relay.kick();
          else recordAfter((err as { status?: number }).status ?? 500);
        },
      }),
    );
  }
}
