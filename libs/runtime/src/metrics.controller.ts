import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '@baton/auth';
import { prometheusText } from '@baton/telemetry';

/**
 * Prometheus metrics of this process (`GET /metrics`, no auth), through
 * OpenTelemetry: the instruments every module records into, and the gauges
 * the modules read when scraped (docs/observability.md lists them).
 */
@Controller()
export class MetricsController {
  @Get('metrics')
  @Public()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return prometheusText();
  }
}
