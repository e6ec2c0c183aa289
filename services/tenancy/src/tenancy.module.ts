import { Module } from '@nestjs/common';
import { AgentTokensController } from './agent-tokens/agent-tokens.controller.js';
import { AgentTokensService } from './agent-tokens/agent-tokens.service.js';
import { AuthController } from './auth/auth.controller.js';
import { AuthService } from './auth/auth.service.js';
import { ApiKeysController } from './api-keys/api-keys.controller.js';
import { ApiKeysService } from './api-keys/api-keys.service.js';
import { BootstrapService } from './bootstrap/bootstrap.service.js';
import { PasswordsService } from './auth/passwords.service.js';
import { InvitationsController } from './invitations/invitations.controller.js';
import { InvitationsService } from './invitations/invitations.service.js';
import { LinkMailer } from './mail/link-mailer.service.js';
import { OidcController } from './oidc/oidc.controller.js';
import { OidcService } from './oidc/oidc.service.js';
import { QuotasController } from './quotas/quotas.controller.js';
import { QuotasService } from './quotas/quotas.service.js';
import { SecretsController } from './secrets/secrets.controller.js';
import { SecretsService } from './secrets/secrets.service.js';
import { TenantsController } from './tenants/tenants.controller.js';
import { TenantsService } from './tenants/tenants.service.js';
import { UsageController } from './usage/usage.controller.js';
import { UsersController } from './users/users.controller.js';
import { UsersService } from './users/users.service.js';

/** Tenants, their people (users, logins, SSO, invitations, passwords), API keys, agent tokens, secrets, quotas and usage. */
@Module({
  controllers: [
    AgentTokensController,
    ApiKeysController,
    AuthController,
    InvitationsController,
    OidcController,
    TenantsController,
    QuotasController,
    SecretsController,
    UsageController,
    UsersController,
  ],
  providers: [
    AgentTokensService,
    ApiKeysService,
    AuthService,
    BootstrapService,
    InvitationsService,
    LinkMailer,
    OidcService,
    PasswordsService,
    QuotasService,
    SecretsService,
    TenantsService,
    UsersService,
  ],
  exports: [BootstrapService, AgentTokensService],
})
export class TenancyModule {}
