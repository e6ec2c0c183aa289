import { Module } from '@nestjs/common';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { AUDIT_KEYS, Checkpoints } from './checkpoints.js';
import { AuditIngestService } from './ingest/audit-ingest.service.js';
import { auditKeys } from './keys.js';
import { AuditReview } from './review/audit-review.service.js';
import { AuditController } from './review/audit.controller.js';

/** Audit ingestion (the audit topic), the keyed hash chain and its checkpoints, review and verification. */
@Module({
  controllers: [AuditController],
  providers: [
    // Refuses to start in production without BATON_AUDIT_KEY.
    { provide: AUDIT_KEYS, useFactory: (config: BatonConfig) => auditKeys(config), inject: [BATON_CONFIG] },
    Checkpoints,
    AuditIngestService,
    AuditReview,
  ],
})
export class AuditModule {}
