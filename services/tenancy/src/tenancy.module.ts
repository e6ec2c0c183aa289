import { Module } from '@nestjs/common';
import { AgentTokensController } from './agent-tokens/agent-tokens.controller.js';
import { AgentTokensService } from './agent-tokens/agent-tokens.service.js';
import { ApiKeysController } from './api-keys/api-keys.controller.js';
import { ApiKeysService } from './api-keys/api-keys.service.js';
import { BootstrapService } from './bootstrap/bootstrap.service.js';
import { QuotasController } from './quotas/quotas.controller.js';
import { TenantsController } from './tenants/tenants.controller.js';
import { TenantsService } from './tenants/tenants.service.js';

/** Tenants, API keys and agent tokens. */
@Module({
  controllers: [AgentTokensController, ApiKeysController, TenantsController, QuotasController],
  providers: [AgentTokensService, ApiKeysService, BootstrapService, TenantsService],
  exports: [BootstrapService, AgentTokensService],
})
export class TenancyModule {}
