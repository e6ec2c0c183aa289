import { Module } from '@nestjs/common';
import { JobsController } from './jobs/jobs.controller.js';
import { JobsService } from './jobs/jobs.service.js';

/** Job and workflow definitions, versions and validation. */
@Module({ controllers: [JobsController], providers: [JobsService], exports: [JobsService] })
export class CatalogModule {}
