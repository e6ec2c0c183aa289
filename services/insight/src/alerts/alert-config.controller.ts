import { Body, Controller, Delete, Get, HttpCode, Param, Put, Res } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ALERT_NAME, alertChannelSchema, alertRuleSchema } from '@baton/domain';
import { ApiDoc, parseInput } from '@baton/http';
import { AlertConfigService } from './alert-config.service.js';

const Name = z.string().regex(ALERT_NAME, `must match ${ALERT_NAME.source}`);
type Reply = { status(code: number): unknown };

/** The tenant's alert channels: where alerts go (a signed webhook, a Slack incoming webhook, email). */
@Controller('api/v1/alert-channels')
export class AlertChannelsController {
  constructor(private readonly alerts: AlertConfigService) {}

  @Get()
  @ApiDoc({ summary: "The tenant's alert channels (a webhook's secret is never shown: `hasSecret`)" })
  @Requires('read', 'Alert')
  async list(@CurrentPrincipal() p: Principal) {
    return { items: await this.alerts.listChannels(p) };
  }

  @Get(':name')
  @ApiDoc({ summary: 'One alert channel' })
  @Requires('read', 'Alert')
  get(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    return this.alerts.getChannel(p, parseInput(Name, name, 'name'));
  }

  @Put(':name')
  @ApiDoc({
    summary:
      'Create (201) or replace (200) an alert channel: {type: webhook|slack, url} or {type: email, to: [...]}; a webhook may sign with `secret`',
    body: alertChannelSchema,
  })
  @Requires('update', 'Alert')
  async put(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Reply,
  ) {
    const n = parseInput(Name, name, 'name');
    const out = await this.alerts.putChannel(p, n, parseInput(alertChannelSchema, body));
    res.status(out.created ? 201 : 200);
    return out.view;
  }

  @Delete(':name')
  @HttpCode(200)
  @ApiDoc({ summary: 'Delete an alert channel no rule uses (409 names the rules that do)' })
  @Requires('delete', 'Alert')
  remove(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    return this.alerts.deleteChannel(p, parseInput(Name, name, 'name'));
  }
}

/** The tenant's alert rules: which events of which jobs go to which channels, throttled per rule and job. */
@Controller('api/v1/alert-rules')
export class AlertRulesController {
  constructor(private readonly alerts: AlertConfigService) {}

  @Get()
  @ApiDoc({ summary: "The tenant's alert rules" })
  @Requires('read', 'Alert')
  async list(@CurrentPrincipal() p: Principal) {
    return { items: await this.alerts.listRules(p) };
  }

  @Get(':name')
  @ApiDoc({ summary: 'One alert rule' })
  @Requires('read', 'Alert')
  get(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    return this.alerts.getRule(p, parseInput(Name, name, 'name'));
  }

  @Put(':name')
  @ApiDoc({
    summary:
      'Create (201) or replace (200) an alert rule: {events, jobs (names or globs; empty: all), channels, throttle, agentOfflineAfter}',
    body: alertRuleSchema,
  })
  @Requires('update', 'Alert')
  async put(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Reply,
  ) {
    const n = parseInput(Name, name, 'name');
    const out = await this.alerts.putRule(p, n, parseInput(alertRuleSchema, body));
    res.status(out.created ? 201 : 200);
    return out.view;
  }

  @Delete(':name')
  @HttpCode(200)
  @ApiDoc({ summary: 'Delete an alert rule (its history stays)' })
  @Requires('delete', 'Alert')
  remove(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    return this.alerts.deleteRule(p, parseInput(Name, name, 'name'));
  }
}
