import { Body, Controller, Delete, Get, Param, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { jobSchema } from '@baton/domain';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, ProblemException, checkBodyDepth, parseLimit } from '@baton/http';
import { JobsService } from './jobs.service.js';

/**
 * How many nodes aliases may resolve to in one YAML body (the yaml package's
 * count). A job definition needs few; a document that multiplies itself
 * through aliases ("billion laughs") is refused before it is built.
 */
const MAX_YAML_ALIAS_COUNT = 100;

/** A body is JSON (parsed by Express) or YAML (kept as text by the YAML parser route). */
export function parseDefinitionBody(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  let value: unknown;
  try {
    value = parseYaml(body, { maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const line = err.linePos?.[0];
      const where = line ? `line ${line.line}, column ${line.col}` : 'body';
      throw ProblemException.invalidField('(body)', `YAML ${where}: ${err.message.split('\n')[0]}`);
    }
    // The yaml package reports alias problems (too many, or unresolved) as ReferenceErrors while building the value.
    if (err instanceof ReferenceError) {
      const detail = /excessive alias count/i.test(err.message)
        ? `aliases expand to more than ${MAX_YAML_ALIAS_COUNT} nodes; such a document is refused`
        : err.message;
      throw ProblemException.invalidField('(body)', `YAML: ${detail}`);
    }
    throw err;
  }
  checkBodyDepth(value); // JSON bodies are checked as they are parsed; YAML only here
  return value;
}

@Controller('api/v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Put(':name')
  @ApiDoc({
    summary: 'Create or update a job (JSON or YAML); a new version only when it changed',
    body: jobSchema,
    status: 201,
  })
  @Requires('update', 'Job')
  async apply(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    const r = await this.jobs.apply(p, name, parseDefinitionBody(body));
    res.status(r.created ? 201 : 200);
    return { ...r.job, created: r.created, changed: r.changed };
  }

  @Get()
  @ApiDoc({ summary: 'List jobs (limit, cursor, prefix)' })
  @Requires('read', 'Job')
  list(
    @CurrentPrincipal() p: Principal,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
    @Query('prefix') prefix?: string,
  ) {
    return this.jobs.list(p, parseLimit(limit), cursor, prefix);
  }

  @Get(':name')
  @ApiDoc({ summary: 'A job with its current (or ?version=N) definition and triggers' })
  @Requires('read', 'Job')
  get(@CurrentPrincipal() p: Principal, @Param('name') name: string, @Query('version') version?: string) {
    let v: number | undefined;
    if (version !== undefined) {
      v = Number(version);
      if (!Number.isInteger(v) || v < 1) throw ProblemException.invalidField('version', 'must be a positive integer');
    }
    return this.jobs.get(p, name, v);
  }

  @Get(':name/versions')
  @ApiDoc({ summary: 'Every version of a job' })
  @Requires('read', 'Job')
  versions(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    return this.jobs.versions(p, name);
  }

  @Delete(':name')
  @ApiDoc({ summary: 'Delete a job and its triggers (runs keep their pinned version)' })
  @Requires('delete', 'Job')
  remove(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    return this.jobs.remove(p, name);
  }
}
