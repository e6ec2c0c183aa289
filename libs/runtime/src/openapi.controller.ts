import { Controller, Get, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { z } from 'zod';
import { CSRF_HEADER, IS_PUBLIC, Public, REQUIRES, SESSION_COOKIE } from '@baton/auth';
import { API_DOC, type ApiDocOptions } from '@baton/http';

type Json = Record<string, unknown>;

const joinPath = (...parts: string[]) =>
  '/' +
  parts
    .flatMap((p) => p.split('/'))
    .filter(Boolean)
    .join('/');

const schemaOf = (s: z.ZodType): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
};

const PROBLEM = {
  description: 'problem+json: `errors[].path` names each bad field',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          code: { type: 'string' },
          detail: { type: 'string' },
          errors: {
            type: 'array',
            items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
          },
        },
      },
    },
  },
};

/**
 * The OpenAPI 3.1 document of this process's REST API, generated from the
 * routes themselves: paths and methods from Nest's routing metadata, the
 * permission each route requires, and request schemas from the zod schemas
 * the handlers validate with (`@ApiDoc`).
 */
@Controller()
export class OpenApiController {
  private cached: Json | null = null;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  @Get('api/v1/openapi.json')
  @Public()
  document(): Json {
    return (this.cached ??= this.build());
  }

  private build(): Json {
    const paths: Record<string, Json> = {};
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance || !wrapper.metatype) continue;
      const base = (Reflect.getMetadata(PATH_METADATA, wrapper.metatype) as string | undefined) ?? '';
      const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const handler = proto[name] as (...args: unknown[]) => unknown;
        const route = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (route === undefined || method === undefined) continue;
        const path = joinPath(base, route).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
        if (!path.startsWith('/api/') && !path.startsWith('/hooks/')) continue;
        const verb = RequestMethod[method].toLowerCase();
        const doc = this.reflector.get<ApiDocOptions | undefined>(API_DOC, handler);
        const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, wrapper.metatype]);
        const need = this.reflector.get<{ action: string; subject: string } | undefined>(REQUIRES, handler);
        const op: Json = {
          operationId: `${wrapper.metatype.name.replace(/Controller$/, '')}.${name}`,
          summary: doc?.summary ?? name,
          tags: [wrapper.metatype.name.replace(/Controller$/, '')],
          parameters: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
            name: m[1],
            in: 'path',
            required: true,
            schema: { type: 'string' },
          })),
          responses: { [String(doc?.status ?? 200)]: { description: 'success' }, default: PROBLEM },
        };
        if (doc?.query) {
          const q = schemaOf(doc.query) as { properties?: Record<string, Json> };
          for (const [qn, schema] of Object.entries(q.properties ?? {})) {
            (op.parameters as Json[]).push({ name: qn, in: 'query', required: false, schema });
          }
        }
        if (doc?.body)
          op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(doc.body) } } };
        // Either credential: an API key, or a login session's cookie (with its CSRF token on changes).
        if (!isPublic) op.security = [{ bearer: [] }, { session: [] }];
        if (need) op['x-baton-permission'] = `${need.action} ${need.subject}`;
        paths[path] = { ...(paths[path] ?? {}), [verb]: op };
      }
    }
    return {
      openapi: '3.1.0',
      info: { title: 'Baton API', version: '0.1.0' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key' },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: SESSION_COOKIE,
            description: `login session (POST /api/v1/auth/login); POST, PUT, PATCH and DELETE also need ${CSRF_HEADER}`,
          },
        },
      },
      paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    };
  }
}
