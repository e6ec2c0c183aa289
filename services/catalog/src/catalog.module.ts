import { Module } from '@nestjs/common';
import { JobsController } from './jobs/jobs.controller.js';
import { JobsService } from './jobs/jobs.service.js';
import { SchemasController } from './schemas/schemas.controller.js';

/** Job and workflow definitions, versions and validation. */
@Module({ controllers: [JobsController, SchemasController], providers: [JobsService], exports: [JobsService] })
export class CatalogModule {}
