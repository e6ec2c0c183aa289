import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@baton/telemetry';
import { type Edge, startEdge } from './edge.js';
import { SERVICE_NAMES, type ServiceName } from './routes.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: () => Promise<string>) => void;

interface Upstream {
  server: http.Server;
  url: URL;
  /** Replaces the default echo for the next requests. */
  handler: Handler | null;
}

const readAll = async (stream: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

async function startUpstream(service: string): Promise<Upstream> {
  const up: Upstream = { server: http.createServer(), url: new URL('http://127.0.0.1'), handler: null };
  up.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (up.handler) return up.handler(req, res, () => readAll(req));
    void readAll(req).then((body) => {
      const text = JSON.stringify({ service, method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(req.url === '/readyz' ? 200 : 201, { 'content-type': 'application/json', 'x-upstream': service });
      res.end(text);
    });
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.url = new URL(`http://127.0.0.1:${(up.server.address() as AddressInfo).port}`);
  return up;
}

async function closedPortUrl(): Promise<URL> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return new URL(`http://127.0.0.1:${port}`);
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function request(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, agent: false },
      (res) => {
        readAll(res).then((body) => resolve({ status: res.statusCode!, headers: res.headers, body }), reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const logger = createLogger({ level: 'error', format: 'text', write: () => {} });

describe('edge proxy', () => {
  const upstreams = {} as Record<ServiceName, Upstream>;
  let edge: Edge;

  const start = async (overrides: Partial<Record<ServiceName, URL>> = {}, timeoutMs = 60_000) => {
    edge = await startEdge({
      host: '127.0.0.1',
      port: 0,
      upstreams: Object.fromEntries(SERVICE_NAMES.map((s) => [s, overrides[s] ?? upstreams[s].url])) as Record<
        ServiceName,
        URL
      >,
      timeoutMs,
      readyTimeoutMs: 1_000,
      logger,
    });
  };

  beforeEach(async () => {
    for (const s of SERVICE_NAMES) upstreams[s] = await startUpstream(s);
  });

  afterEach(async () => {
    await edge?.close(0);
    for (const s of SERVICE_NAMES) {
      upstreams[s].server.closeAllConnections();
      await new Promise<void>((r) => upstreams[s].server.close(() => r()));
    }
  });

  it('forwards method, path with query, body and end-to-end headers, and returns status and headers', async () => {
    await start();
    const res = await request(edge.port, {
      method: 'POST',
      path: '/api/v1/jobs/hello/runs?wait=1&x=%20y',
      headers: {
        authorization: 'Bearer bat_key_secret',
        'content-type': 'application/json',
        'x-forwarded-for': '203.0.113.7',
        connection: 'keep-alive, x-hop-only',
        'x-hop-only': 'drop me',
        'keep-alive': 'timeout=5',
        'x-custom': 'kept',
      },
      body: '{"params":{"a":1}}',
    });
    expect(res.status).toBe(201);
    expect(res.headers['x-upstream']).toBe('scheduler');
    const seen = JSON.parse(res.body);
    expect(seen).toMatchObject({ service: 'scheduler', method: 'POST', url: '/api/v1/jobs/hello/runs?wait=1&x=%20y' });
    expect(seen.body).toBe('{"params":{"a":1}}');
    expect(seen.headers.authorization).toBe('Bearer bat_key_secret');
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-hop-only']).toBeUndefined();
    expect(seen.headers['keep-alive']).toBeUndefined();
  });

  it('routes each path to the service that owns it', async () => {
    await start();
    const table: Array<[string, string, ServiceName]> = [
      ['GET', '/api/v1/jobs', 'catalog'],
      ['PUT', '/api/v1/jobs/hello', 'catalog'],
      ['GET', '/api/v1/jobs/hello/slots', 'trigger'],
      ['POST', '/hooks/github', 'trigger'],
      ['GET', '/api/v1/runs?job=hello', 'scheduler'],
      ['GET', '/api/v1/whoami', 'tenancy'],
      ['GET', '/api/v1/audit/verify', 'audit'],
    ];
    for (const [method, path, service] of table) {
      const res = await request(edge.port, { method, path });
      expect(JSON.parse(res.body), `${method} ${path}`).toMatchObject({ service, method, url: path });
    }
  });

  it('passes upstream errors and response headers through unchanged, minus hop-by-hop ones', async () => {
    await start();
    upstreams.catalog.handler = (_req, res) => {
      res.writeHead(409, {
        'content-type': 'application/problem+json',
        'set-cookie': ['a=1', 'b=2'],
        'x-baton-last-seq': '42',
        'proxy-authenticate': 'Basic',
      });
      res.end('{"code":"conflict"}');
    };
    const res = await request(edge.port, { method: 'DELETE', path: '/api/v1/jobs/hello' });
    expect(res.status).toBe(409);
    expect(res.body).toBe('{"code":"conflict"}');
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['x-baton-last-seq']).toBe('42');
    expect(res.headers['proxy-authenticate']).toBeUndefined();
  });

  it('streams the response: the client reads the first chunk before the upstream has finished', async () => {
    await start();
    let finish!: () => void;
    const upstreamDone = new Promise<void>((r) => (finish = r));
    upstreams.scheduler.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('line 1\n');
      void upstreamDone.then(() => res.end('line 2\n'));
    };
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: edge.port, path: '/api/v1/runs/r1/tasks/a/logs' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text === 'line 1\n') finish(); // only now may the upstream end
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    expect(body).toBe('line 1\nline 2\n');
  });

  it('streams the request body: the upstream reads the first chunk before the client has finished', async () => {
    await start();
    let firstChunk!: (text: string) => void;
    const gotFirst = new Promise<string>((r) => (firstChunk = r));
    upstreams.catalog.handler = (req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        if (!text) firstChunk(c);
        text += c;
      });
      req.on('end', () => res.end(`received ${text.length} bytes`));
    };
    const reply = new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: edge.port,
          method: 'PUT',
          path: '/api/v1/jobs/big',
          headers: { 'content-type': 'application/yaml' },
        },
        (res) => void readAll(res).then((body) => resolve({ status: res.statusCode!, headers: res.headers, body })),
      );
      req.on('error', reject);
      req.write('name: big\n');
      void gotFirst.then(() => req.end('tasks: []\n'));
    });
    expect(await gotFirst).toBe('name: big\n');
    expect((await reply).body).toBe('received 20 bytes');
  });

  it('answers 502 problem+json naming the service when its upstream is down', async () => {
    await start({ audit: await closedPortUrl() });
    const res = await request(edge.port, { path: '/api/v1/audit' });
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toBe('application/problem+json');
    const problem = JSON.parse(res.body);
    expect(problem).toMatchObject({ status: 502, code: 'upstream_unavailable', service: 'audit' });
    expect(problem.detail).toMatch(/^audit is unavailable/);
    // the other services are unaffected
    expect((await request(edge.port, { path: '/api/v1/whoami' })).status).toBe(201);
  });

  it('answers 504 when the upstream stays silent past the timeout', async () => {
    await start({}, 200);
    upstreams.trigger.handler = () => {}; // never answers
    const res = await request(edge.port, { method: 'POST', path: '/api/v1/schedule/preview', body: '{}' });
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'upstream_timeout', service: 'trigger' });
  });

  it('cancels the upstream request when the client goes away', async () => {
    await start();
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    let arrived!: () => void;
    const atUpstream = new Promise<void>((r) => (arrived = r));
    upstreams.scheduler.handler = (req, res) => {
      res.on('close', () => upstreamClosed());
      arrived();
      res.writeHead(200);
      res.write('waiting');
    };
    const req = http.get({ host: '127.0.0.1', port: edge.port, path: '/api/v1/runs?wait=60', agent: false });
    req.on('error', () => {});
    await atUpstream;
    req.destroy();
    await closed; // the test times out if the edge kept the upstream request open
  });

  it('answers 404 problem+json for a path no service owns, without calling any upstream', async () => {
    await start();
    let called = false;
    for (const s of SERVICE_NAMES) upstreams[s].handler = (_q, r) => ((called = true), r.end());
    const res = await request(edge.port, { path: '/api/v1/nope?x=1' });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toEqual({
      type: 'https://baton.dev/problems/not_found',
      title: 'Not Found',
      status: 404,
      code: 'not_found',
      detail: 'no Baton service answers /api/v1/nope',
      instance: '/api/v1/nope?x=1',
    });
    expect(called).toBe(false);
  });

  it('answers /healthz itself, and /readyz only when every upstream is ready', async () => {
    await start({ audit: await closedPortUrl() });
    upstreams.tenancy.handler = (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/problem+json' });
      res.end('{}');
    };
    expect(JSON.parse((await request(edge.port, { path: '/healthz' })).body)).toEqual({ status: 'ok' });
    const notReady = await request(edge.port, { path: '/readyz' });
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toMatchObject({
      code: 'not_ready',
      detail: 'not ready: tenancy, audit',
      services: { catalog: 'ready', trigger: 'ready', scheduler: 'ready', tenancy: 'not_ready', audit: 'unreachable' },
    });

    await edge.close(0);
    upstreams.tenancy.handler = null;
    await start();
    const ready = await request(edge.port, { path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({
      status: 'ready',
      services: {
        catalog: 'ready',
        trigger: 'ready',
        scheduler: 'ready',
        tenancy: 'ready',
        audit: 'ready',
        insight: 'ready',
      },
    });
  });

  it('drains on close: a request in flight completes, new connections are refused', async () => {
    await start();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const atUpstream = new Promise<void>((r) => (arrived = r));
    upstreams.scheduler.handler = (_req, res) => {
      arrived();
      void released.then(() => res.end('done'));
    };
    const inFlight = request(edge.port, { path: '/api/v1/runs/r1' });
    await atUpstream;
    const closing = edge.close(5_000);
    await expect(request(edge.port, { path: '/healthz' })).rejects.toThrow(/ECONNREFUSED/);
    release();
    expect((await inFlight).body).toBe('done');
    await closing;
  });
});
