import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Put, Res, type Type } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ALERT_NAME, alertChannelSchema, alertRuleSchema } from '@baton/domain';
import { ApiDoc, parseInput } from '@baton/http';
import type { TenantScope } from '@baton/persistence';
import { AlertConfigService } from './alert-config.service.js';

const Name = z.string().regex(ALERT_NAME, `must match ${ALERT_NAME.source}`);
type Reply = { status(code: number): unknown };

/** A tenant's named configuration items (channels, rules): what the routes call. */
interface NamedStore<I, V> {
  list(scope: TenantScope): Promise<V[]>;
  get(scope: TenantScope, name: string): Promise<V>;
  put(scope: TenantScope, name: string, input: I): Promise<{ created: boolean; view: V }>;
  remove(scope: TenantScope, name: string): Promise<V>;
}

/**
 * `GET /`, `GET|PUT|DELETE /{name}` over one kind of named item: tenant
 * admins and operators change them (Alert), every role reads them.
 */
function namedItemsController<S extends z.ZodType, V>(
  className: string,
  path: string,
  schema: S,
  docs: { list: string; get: string; put: string; remove: string },
  storeOf: (svc: AlertConfigService) => NamedStore<z.output<S>, V>,
): Type {
  @Controller(path)
  class NamedItemsController {
    private readonly store: NamedStore<z.output<S>, V>;

    constructor(@Inject(AlertConfigService) svc: AlertConfigService) {
      this.store = storeOf(svc);
    }

    @Get()
    @ApiDoc({ summary: docs.list })
    @Requires('read', 'Alert')
    async list(@CurrentPrincipal() p: Principal) {
      return { items: await this.store.list(p) };
    }

    @Get(':name')
    @ApiDoc({ summary: docs.get })
    @Requires('read', 'Alert')
    get(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
      return this.store.get(p, parseInput(Name, name, 'name'));
    }

    @Put(':name')
    @ApiDoc({ summary: docs.put, body: schema })
    @Requires('update', 'Alert')
    async put(
      @CurrentPrincipal() p: Principal,
      @Param('name') name: string,
      @Body() body: unknown,
      @Res({ passthrough: true }) res: Reply,
    ) {
      const n = parseInput(Name, name, 'name');
      const out = await this.store.put(p, n, parseInput(schema, body));
      res.status(out.created ? 201 : 200);
      return out.view;
    }

    @Delete(':name')
    @HttpCode(200)
    @ApiDoc({ summary: docs.remove })
    @Requires('delete', 'Alert')
    remove(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
      return this.store.remove(p, parseInput(Name, name, 'name'));
    }
  }
  // Its name makes the OpenAPI operation ids and tags (`AlertChannels.put`).
  Object.defineProperty(NamedItemsController, 'name', { value: className });
  return NamedItemsController;
}

/** The tenant's alert channels: where alerts go (a signed webhook, a Slack incoming webhook, email). */
export const AlertChannelsController = namedItemsController(
  'AlertChannelsController',
  'api/v1/alert-channels',
  alertChannelSchema,
  {
    list: "The tenant's alert channels (a webhook's secret is never shown: `hasSecret`)",
    get: 'One alert channel',
    put: 'Create (201) or replace (200) an alert channel: {type: webhook|slack, url} or {type: email, to: [...]}; a webhook may sign with `secret`',
    remove: 'Delete an alert channel no rule uses (409 names the rules that do)',
  },
  (svc) => ({
    list: (s) => svc.listChannels(s),
    get: (s, n) => svc.getChannel(s, n),
    put: (s, n, i) => svc.putChannel(s, n, i),
    remove: (s, n) => svc.deleteChannel(s, n),
  }),
);

/** The tenant's alert rules: which events of which jobs go to which channels, throttled per rule and job. */
export const AlertRulesController = namedItemsController(
  'AlertRulesController',
  'api/v1/alert-rules',
  alertRuleSchema,
  {
    list: "The tenant's alert rules",
    get: 'One alert rule',
    put: 'Create (201) or replace (200) an alert rule: {events, jobs (names or globs; empty: all), channels, throttle, agentOfflineAfter}',
    remove: 'Delete an alert rule (its history stays)',
  },
  (svc) => ({
    list: (s) => svc.listRules(s),
    get: (s, n) => svc.getRule(s, n),
    put: (s, n, i) => svc.putRule(s, n, i),
    remove: (s, n) => svc.deleteRule(s, n),
  }),
);
