import { Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { CurrentPrincipal, type Principal, Public, Requires } from '@baton/auth';
import { ProblemException } from '@baton/http';
import type { RawBodyRequest } from './raw-body.js';
import { WebhooksService } from './webhooks.service.js';

/** The public receiving end of webhook triggers; authenticated by the HMAC signature only. */
@Controller('hooks')
export class HooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post(':triggerId')
  @Public()
  @HttpCode(202)
  receive(@Param('triggerId') triggerId: string, @Req() req: RawBodyRequest) {
    return this.webhooks.deliver(triggerId, {
      headers: req.headers,
      rawBody: req.rawBody,
      tooLarge: req.rawBodyError === 'too_large',
    });
  }
}

@Controller('api/v1/jobs')
export class WebhookSecretsController {
  constructor(private readonly webhooks: WebhooksService) {}

  /** Rotates the secret of a webhook trigger; the new secret is in this answer only. */
  @Post(':name/triggers/:index/secret')
  @Requires('update', 'Job')
  @HttpCode(200)
  rotate(@CurrentPrincipal() p: Principal, @Param('name') name: string, @Param('index') index: string) {
    if (!/^\d{1,4}$/.test(index)) throw ProblemException.invalidField('index', 'must be a trigger index (0, 1, ...)');
    return this.webhooks.rotate(p, name, Number(index));
  }
}
