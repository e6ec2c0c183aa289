import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import { z } from 'zod';
import { AuditsItself, CurrentPrincipal, MAX_SECRET_BYTES, type Principal, Requires } from '@baton/auth';
import { SECRET_NAME } from '@baton/domain';
import { ApiDoc, parseInput } from '@baton/http';
import { SecretsService } from './secrets.service.js';

const SecretName = z.string().regex(SECRET_NAME, `must match ${SECRET_NAME.source}`);

const PutSecret = z.strictObject({
  value: z
    .string({ error: 'required, a string' })
    .min(1, 'must not be empty')
    .refine((v) => Buffer.byteLength(v, 'utf8') <= MAX_SECRET_BYTES, `must be at most ${MAX_SECRET_BYTES} bytes`),
});

/** The caller's tenant's secrets: names and metadata are listed, values are written and never returned. */
@Controller('api/v1/secrets')
export class SecretsController {
  constructor(private readonly secrets: SecretsService) {}

  @Get()
  @ApiDoc({ summary: "The names of the tenant's secrets with who wrote them when (never a value)" })
  @Requires('read', 'Secret')
  async list(@CurrentPrincipal() p: Principal) {
    return { items: await this.secrets.list(p) };
  }

  @Put(':name')
  @AuditsItself()
  @ApiDoc({
    summary: 'Create (201) or replace (200) a secret; tasks refer to it as {{ secrets.NAME }}',
    body: PutSecret,
  })
  @Requires('update', 'Secret')
  async put(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: { status(code: number): unknown },
  ) {
    const n = parseInput(SecretName, name, 'name');
    const { value } = parseInput(PutSecret, body);
    const out = await this.secrets.put(p, n, value);
    res.status(out.created ? 201 : 200);
    return out.secret;
  }

  @Delete(':name')
  @HttpCode(200)
  @AuditsItself()
  @ApiDoc({ summary: 'Delete a secret; tasks that still refer to it fail at dispatch' })
  @Requires('delete', 'Secret')
  remove(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    return this.secrets.remove(p, parseInput(SecretName, name, 'name'));
  }

  @Post('rotate-key')
  @HttpCode(200)
  @AuditsItself()
  @ApiDoc({ summary: "Seal every tenant's secrets again under the current BATON_SECRETS_KEY (platform admins)" })
  @Requires('manage', 'Tenant')
  rotateKey(@CurrentPrincipal() p: Principal) {
    return this.secrets.rotateKey(p);
  }
}
