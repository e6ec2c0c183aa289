import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DynamicModule, Inject, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ExpressAdapter } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { LOGGER, type Logger } from '@baton/telemetry';

/** The portal's static export, written by `npm run build:web` (web/out). */
export const PORTAL_DIR = resolve(__dirname, '../../../web/out');

const PORTAL_OPTIONS = Symbol('baton.portal');
// Paths the platform answers itself; the portal never shadows them, not even with its 404 page.
const PLATFORM_PATHS = /^\/(?:api|hooks)(?:\/|$)|^\/(?:metrics|healthz|readyz)$/;

/**
 * Serves the web portal on the API's port at `/` (standalone only; in
 * production the edge or the portal's own container serves it). Registered
 * when Nest initialises modules: after the API routes, before Nest's 404
 * handler, so /api/v1/* is unaffected. `/jobs/` serves jobs/index.html; an unknown
 * page gets the portal's 404.html. Without a build it logs once and serves nothing.
 */
@Module({})
export class PortalModule implements OnModuleInit {
  static serve(dir: string = PORTAL_DIR): DynamicModule {
    return { module: PortalModule, providers: [{ provide: PORTAL_OPTIONS, useValue: { dir } }] };
  }

  constructor(
    private readonly host: HttpAdapterHost,
    @Inject(PORTAL_OPTIONS) private readonly options: { dir: string },
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit() {
    const { dir } = this.options;
    if (!existsSync(join(dir, 'index.html'))) {
      this.logger.warn('the web portal is not built, so / is not served; run `npm run build:web`', { dir });
      return;
    }
    const http = this.host.httpAdapter as ExpressAdapter;
    http.useStaticAssets(dir, {
      setHeaders: (res: Response, path: string) =>
        // Next.js fingerprints everything under _next/static; pages must revalidate.
        res.setHeader(
          'Cache-Control',
          path.includes('/_next/static/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        ),
    });
    http.use((req: Request, res: Response, next: NextFunction) => {
      if ((req.method === 'GET' || req.method === 'HEAD') && !PLATFORM_PATHS.test(req.path) && req.accepts('html'))
        res.status(404).sendFile(join(dir, '404.html'));
      else next();
    });
  }
}
