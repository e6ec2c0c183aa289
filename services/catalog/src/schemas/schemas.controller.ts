import { Controller, Get, Header } from '@nestjs/common';
import { Requires } from '@baton/auth';
import { ApiDoc } from '@baton/http';
import { jobJsonSchema } from './job-json-schema.js';

@Controller('api/v1/schemas')
export class SchemasController {
  @Get('job.json')
  @ApiDoc({ summary: 'The JSON Schema of a job definition (draft 2020-12), for editors and linters' })
  @Requires('read', 'Job')
  @Header('Cache-Control', 'private, max-age=300')
  job(): Record<string, unknown> {
    return jobJsonSchema();
  }
}
