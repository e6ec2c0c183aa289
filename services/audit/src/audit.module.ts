import { Module } from '@nestjs/common';
import { AuditIngestService } from './ingest/audit-ingest.service.js';
import { AuditController } from './review/audit.controller.js';

/** Audit ingestion (the audit topic), the hash chain, review and verification. */
@Module({ controllers: [AuditController], providers: [AuditIngestService] })
export class AuditModule {}
