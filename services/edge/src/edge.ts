import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@baton/telemetry';
import { proxyRequest, sendProblem, type ProxyOptions } from './proxy.js';
import { routeFor, SERVICE_NAMES, type ServiceName } from './routes.js';

export interface EdgeOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  upstreams: Record<ServiceName, URL>;
  /** No byte from an upstream for this long ends the request; long enough for long polls. */
  timeoutMs: number;
  /** How long `/readyz` waits for each upstream's `/readyz`. */
  readyTimeoutMs: number;
  logger: Logger;
}

export interface Edge {
  port: number;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

type Readiness = 'ready' | 'not_ready' | 'unreachable';

async function upstreamReadiness(url: URL, timeoutMs: number): Promise<Readiness> {
  try {
    const res = await fetch(new URL(`${url.pathname.replace(/\/$/, '')}/readyz`, url), {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    return res.ok ? 'ready' : 'not_ready';
  } catch {
    return 'unreachable';
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The HTTP edge: one address for the REST API, routing each path to the service that owns it. */
export async function startEdge(options: EdgeOptions): Promise<Edge> {
  const { logger } = options;
  const proxyOptions: ProxyOptions = {
    timeoutMs: options.timeoutMs,
    logger,
    httpAgent: new http.Agent({ keepAlive: true }),
    httpsAgent: new https.Agent({ keepAlive: true }),
  };
  let draining = false;

  const ready = async (res: ServerResponse) => {
    const states = await Promise.all(
      SERVICE_NAMES.map(
        async (s) => [s, await upstreamReadiness(options.upstreams[s], options.readyTimeoutMs)] as const,
      ),
    );
    const services = Object.fromEntries(states);
    const down = states.filter(([, state]) => state !== 'ready').map(([s]) => s);
    if (draining) sendProblem(res, 503, 'not_ready', 'the edge is shutting down', { services });
    else if (down.length > 0) sendProblem(res, 503, 'not_ready', `not ready: ${down.join(', ')}`, { services });
    else sendJson(res, 200, { status: 'ready', services });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (draining) res.setHeader('connection', 'close');
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/readyz' && (req.method === 'GET' || req.method === 'HEAD')) {
      void ready(res);
      return;
    }
    const service = routeFor(path);
    if (!service) {
      sendProblem(res, 404, 'not_found', `no Baton service answers ${path}`);
      return;
    }
    const started = Date.now();
    res.on('finish', () =>
      logger.debug('proxied', { service, method: req.method, path, status: res.statusCode, ms: Date.now() - started }),
    );
    proxyRequest(req, res, { service, url: options.upstreams[service] }, proxyOptions);
  };

  const server = http.createServer(
    // Longer than the idle timeout of a load balancer in front (60 s on most),
    // so the edge never closes a connection the balancer is about to reuse.
    { keepAliveTimeout: 65_000, headersTimeout: 66_000 },
    handle,
  );
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info('edge listening', {
    port,
    upstreams: Object.fromEntries(SERVICE_NAMES.map((s) => [s, options.upstreams[s].href])),
  });

  return {
    port,
    close: async (graceMs = 25_000) => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
      proxyOptions.httpAgent.destroy();
      proxyOptions.httpsAgent.destroy();
    },
  };
}
