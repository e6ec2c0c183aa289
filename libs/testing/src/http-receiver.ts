import { createHmac, timingSafeEqual } from 'node:crypto';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  body: any;
}

/** A real HTTP receiver for webhooks: records every POST (JSON); answers 200. */
export class HttpReceiver {
  readonly got: Received[] = [];
  private server: Server | null = null;
  constructor(readonly port: number) {}
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }
  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        this.got.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) as unknown });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    return this;
  }
  on(path: string): Received[] {
    return this.got.filter((g) => g.path === path);
  }
  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

/** Verifies `X-Baton-Signature: t=...,v1=...` as docs/observability.md tells a receiver to. */
export function verifyWebhookSignature(r: Received, secret: string): boolean {
  const header = String(r.headers['x-baton-signature'] ?? '');
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=') as [string, string]));
  if (!parts.t || !parts.v1) return false;
  if (Math.abs(Date.now() / 1000 - Number(parts.t)) > 300) return false;
  const want = createHmac('sha256', secret).update(`${parts.t}.${r.raw}`).digest();
  const got = Buffer.from(parts.v1, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}
