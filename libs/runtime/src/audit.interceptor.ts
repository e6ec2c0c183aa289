import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { Reflector } from '@nestjs/core';
import { AUDITS_ITSELF, type Principal, actorOf } from '@baton/auth';
import { Database } from '@baton/persistence';
import { type AuditRecord, OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { LOGGER, type Logger } from '@baton/telemetry';

/**
 * Every mutating API call (anything but GET) is audited with who made it,
 * what it addressed and how it ended, through the outbox to the audit topic.
 * Bodies are not recorded: they may hold secrets.
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
    const record = (status: number) => {
      const p = req.principal;
      if (!p) return; // unauthenticated calls are rejected before any effect
      const rec: AuditRecord = {
        tenantId: p.tenantId,
        action: `${req.method} ${req.route?.path ?? req.originalUrl.split('?')[0]}`,
        actor: actorOf(p),
        target: req.originalUrl.split('?')[0]!.slice(0, 300),
        status,
        // A platform admin acting inside this tenant says where from.
        detail: p.actingFrom ? { actingFrom: p.actingFrom } : {},
        occurredAt: Date.now(),
      };
      void this.db
        .tx((m) => enqueueAudit(m, rec))
        .then(() => this.relay.kick())
        .catch((err: unknown) =>
          this.log.error('audit record not written', { error: String(err), action: rec.action }),
        );
    };
    const res = ctx.switchToHttp().getResponse<{ statusCode: number }>();
    return next.handle().pipe(
      tap({
        next: () => {
          if (!auditsItself) record(res.statusCode);
        },
        error: (err: unknown) => record((err as { status?: number }).status ?? 500),
      }),
    );
  }
}
