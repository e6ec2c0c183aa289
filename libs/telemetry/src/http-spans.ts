import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  SpanKind,
  SpanStatusCode,
  context,
  defaultTextMapGetter,
  propagation,
  ROOT_CONTEXT,
  trace,
} from '@opentelemetry/api';
import { tracing } from './state.js';

type Request = IncomingMessage & { route?: { path?: unknown }; baseUrl?: string; originalUrl?: string };

// Calls worth a span: the API and webhooks (not health checks, metrics or the portal's files).
const TRACED = /^\/(api|hooks)\//;

/**
 * Express middleware: a SERVER span per API or webhook call, a child of the
 * caller's `traceparent`; what the call does (a run it creates) happens inside
 * it. Passes straight through with tracing off.
 */
export function httpServerSpans() {
  return (req: Request, res: ServerResponse, next: () => void): void => {
    const tracer = tracing.tracer;
    const path = (req.originalUrl ?? req.url ?? '').split('?')[0]!;
    if (!tracer || !TRACED.test(path)) return next();
    const method = req.method ?? 'GET';
    const parent = propagation.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const span = tracer.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path } },
      parent,
    );
    res.once('finish', () => {
      const route = typeof req.route?.path === 'string' ? `${req.baseUrl ?? ''}${req.route.path}` : null;
      if (route) {
        span.updateName(`${method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    const ctx = trace.setSpan(parent, span);
    // Listeners added later (a body read by the handler) run in the call's context too.
    context.bind(ctx, req);
    context.bind(ctx, res);
    context.with(ctx, next);
  };
}
