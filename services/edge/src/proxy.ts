import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import https from 'node:https';
import type { Logger } from '@baton/telemetry';

// RFC 9110 §7.6.1 connection-specific headers, plus the obsolete ones proxies still strip.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Copies headers minus hop-by-hop ones and those the `Connection` header names. */
export function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

const TITLES: Record<number, string> = {
  404: 'Not Found',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Answers an RFC 9457 problem, the shape every Baton service answers errors with. */
export function sendProblem(
  res: ServerResponse,
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
): void {
  const body = JSON.stringify({
    type: `https://baton.dev/problems/${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    instance: res.req?.url,
    ...extra,
  });
  res.writeHead(status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export interface Upstream {
  service: string;
  url: URL;
}

export interface ProxyOptions {
  /** No byte from the upstream for this long ends the request (504, or a cut stream). */
  timeoutMs: number;
  logger: Logger;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
}

/**
 * Forwards one request to `upstream` and streams the answer back. Bodies are
 * piped both ways, never buffered, so uploads, log follows and long polls
 * cost no memory here. Errors before the upstream answered become a
 * problem+json naming the service; after, the client's connection is cut
 * (the status line is gone, a truncated body is the only honest signal).
 */
export function proxyRequest(req: IncomingMessage, res: ServerResponse, upstream: Upstream, opts: ProxyOptions): void {
  const { service, url } = upstream;
  const headers = endToEndHeaders(req.headers);
  // The edge answered `Expect: 100-continue` itself; the upstream must not wait for a second body.
  delete headers.expect;
  const peer = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${String(prior)}, ${peer}` : peer;
  // An ingress in front has already said what the client used; keep its word.
  headers['x-forwarded-proto'] ??= 'encrypted' in req.socket ? 'https' : 'http';
  if (req.headers.host) headers['x-forwarded-host'] ??= req.headers.host;

  const base = url.pathname.replace(/\/$/, '');
  const secure = url.protocol === 'https:';
  const upstreamReq = (secure ? https : http).request({
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port || (secure ? 443 : 80),
    method: req.method,
    path: base + (req.url ?? '/'),
    headers,
    agent: secure ? opts.httpsAgent : opts.httpAgent,
  });

  let settled = false;
  const fail = (status: number, code: string, detail: string, err?: Error) => {
    if (settled) return;
    settled = true;
    opts.logger.warn('upstream failed', {
      service,
      method: req.method,
      path: req.url?.split('?')[0],
      error: err?.message ?? detail,
    });
    req.unpipe(upstreamReq);
    if (!res.headersSent) {
      // The request body may still be arriving; close rather than reuse a connection mid-body.
      if (!req.complete) res.setHeader('connection', 'close');
      sendProblem(res, status, code, detail, { service });
    } else {
      res.destroy(err);
    }
    upstreamReq.destroy();
  };

  upstreamReq.setTimeout(opts.timeoutMs, () =>
    fail(504, 'upstream_timeout', `${service} did not answer within ${opts.timeoutMs} ms`),
  );
  upstreamReq.on('error', (err) => fail(502, 'upstream_unavailable', `${service} is unavailable: ${err.message}`, err));

  upstreamReq.on('response', (upstreamRes) => {
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, endToEndHeaders(upstreamRes.headers));
    upstreamRes.pipe(res);
    upstreamRes.on('end', () => {
      settled = true;
    });
    upstreamRes.on('error', (err) => fail(502, 'upstream_unavailable', `${service} broke off: ${err.message}`, err));
  });

  // The client went away before the answer was complete: stop the upstream's work too.
  res.on('close', () => {
    if (!res.writableFinished) {
      settled = true;
      upstreamReq.destroy();
    }
  });
  req.on('error', () => upstreamReq.destroy());
  req.pipe(upstreamReq);
}
