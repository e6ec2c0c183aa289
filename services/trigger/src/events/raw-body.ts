import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

export const HOOKS_PATH = '/hooks';
export const MAX_HOOK_BODY_BYTES = 1024 * 1024;

/** A webhook request after `captureRawBody`: the exact bytes the sender signed. */
export interface RawBodyRequest extends IncomingMessage {
  rawBody?: Buffer;
  rawBodyError?: 'too_large';
}

/**
 * Reads the body of `POST /hooks/*` into `req.rawBody` before any body
 * parser, since the HMAC is over the bytes as sent, not over re-serialized
 * JSON. The parsers that run afterwards see a finished stream and skip.
 */
export function captureRawBody(req: RawBodyRequest, _res: ServerResponse, next: (err?: unknown) => void): void {
  if (req.method !== 'POST') return next();
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const finish = (err?: unknown) => {
    if (done) return;
    done = true;
    next(err);
  };
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_HOOK_BODY_BYTES) req.rawBodyError = 'too_large';
    else chunks.push(chunk);
  });
  req.on('end', () => {
    if (!req.rawBodyError) req.rawBody = Buffer.concat(chunks);
    finish();
  });
  req.on('error', (err) => finish(err));
}

/**
 * Mounts `captureRawBody` on the HTTP server while the module is being
 * built: that is before the application registers its body parsers, so no
 * change to the process setup is needed (DI instantiates providers inside
 * `NestFactory.create`, the parsers are added after it returns).
 */
@Injectable()
export class RawBodyCapture {
  constructor(host: HttpAdapterHost) {
    const adapter = host.httpAdapter as { use?: (path: string, fn: typeof captureRawBody) => void } | undefined;
    adapter?.use?.(HOOKS_PATH, captureRawBody);
  }
}
