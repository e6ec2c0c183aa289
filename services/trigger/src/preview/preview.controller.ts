import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { z } from 'zod';
import { nextFireTimes, validateCron, validateTimeZone } from '@baton/domain';
import { Requires } from '@baton/auth';
import { ApiDoc, ProblemException, parseInput } from '@baton/http';

const Preview = z.strictObject({
  cron: z.string().min(1),
  timezone: z.string().default('UTC'),
  from: z.iso.datetime({ offset: true }).optional(),
  count: z.number().int().min(1).max(1000).default(10),
});

/** Shows when a cron expression fires, with the daylight-saving policy applied. */
@Controller('api/v1/schedule')
export class PreviewController {
  @Post('preview')
  @ApiDoc({ summary: 'The next fire times of a cron expression', body: Preview })
  @HttpCode(200)
  @Requires('read', 'Job')
  preview(@Body() body: unknown) {
    const cmd = parseInput(Preview, body);
    const cronError = validateCron(cmd.cron);
    if (cronError) throw ProblemException.invalidField('cron', cronError);
    const tzError = validateTimeZone(cmd.timezone);
    if (tzError) throw ProblemException.invalidField('timezone', tzError);
    const from = cmd.from ? new Date(cmd.from) : new Date();
    const times = nextFireTimes(cmd.cron, cmd.timezone, from, cmd.count);
    return {
      cron: cmd.cron,
      timezone: cmd.timezone,
      from: from.toISOString(),
      fireTimes: times.map((t) => t.toISOString()),
    };
  }
}
