import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';

export const API_DOC = 'baton:api-doc';

export interface ApiDocOptions {
  summary: string;
  /** The request body's schema (the same one the handler validates with). */
  body?: z.ZodType;
  /** Query parameters' schema. */
  query?: z.ZodType;
  /** Status of a success (default 200). */
  status?: number;
}

/** Describes a route for the generated OpenAPI document (GET /api/v1/openapi.json). */
export const ApiDoc = (doc: ApiDocOptions) => SetMetadata(API_DOC, doc);
