import { DiagLogLevel, diag, metrics as metricsApi } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { type Resource, defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MeterProvider, type MetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter as OTLPJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import type { TelemetryConfig } from '@baton/config';
import { BatonMetrics, LabelCap } from './metrics.js';
import { tracing } from './state.js';

interface Logish {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** OTEL_* unset: metrics on `/metrics` only, no tracing. */
export const DEFAULT_TELEMETRY: TelemetryConfig = {
  serviceName: null,
  resourceAttributes: {},
  traces: {
    exporters: [],
    endpoint: 'http://localhost:4318/v1/traces',
    sampler: 'parentbased_always_on',
    samplerArg: null,
  },
  metrics: {
    otlp: false,
    endpoint: 'http://localhost:4318/v1/metrics',
    exportIntervalMs: 60_000,
    maxJobsPerTenant: 50,
    maxTenants: 200,
  },
  otlp: { protocol: 'http/protobuf', headers: {} },
  batchDelayMs: 5_000,
};

interface Installed {
  metrics: BatonMetrics;
  prometheus: PrometheusExporter;
  meterProvider: MeterProvider;
  tracerProvider: NodeTracerProvider | null;
}

let installed: Installed | null = null;
// No otel_scope_* labels on every series (one scope, `baton`); `target_info` keeps the resource.
const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);

function resourceOf(cfg: TelemetryConfig, service: string): Resource {
  return defaultResource().merge(
    resourceFromAttributes({ ...cfg.resourceAttributes, 'service.name': cfg.serviceName ?? service }),
  );
}

function samplerOf(cfg: TelemetryConfig): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(cfg.traces.samplerArg ?? 1);
  switch (cfg.traces.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function spanExporters(cfg: TelemetryConfig): SpanExporter[] {
  return cfg.traces.exporters.map((kind) => {
    if (kind === 'console') return new ConsoleSpanExporter();
    const options = { url: cfg.traces.endpoint, headers: cfg.otlp.headers };
    return cfg.otlp.protocol === 'http/json' ? new OTLPJsonTraceExporter(options) : new OTLPProtoTraceExporter(options);
  });
}

/**
 * Sets up OpenTelemetry for this process once (later calls return the first
 * setup): metrics always (served on `/metrics`, pushed over OTLP when
 * configured), tracing only when a traces exporter is configured; W3C trace
 * context propagation. `service` names the process when OTEL_SERVICE_NAME is unset.
 */
export function startTelemetry(
  cfg: TelemetryConfig = DEFAULT_TELEMETRY,
  service = 'baton',
  log?: Logish,
  /** Exporters given in code (tests: an in-memory one), each behind a simple (unbatched) processor. */
  extra: { spanExporters?: SpanExporter[] } = {},
): BatonMetrics {
  if (installed) return installed.metrics;
  if (log) {
    const warn = (msg: string, ...args: unknown[]) => log.warn(`opentelemetry: ${msg}`, { detail: args.map(String) });
    diag.setLogger(
      { error: warn, warn, info: () => undefined, debug: () => undefined, verbose: () => undefined },
      DiagLogLevel.WARN,
    );
  }
  const resource = resourceOf(cfg, service);
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const readers: MetricReader[] = [prometheus];
  if (cfg.metrics.otlp) {
    const options = { url: cfg.metrics.endpoint, headers: cfg.otlp.headers };
    readers.push(
      new PeriodicExportingMetricReader({
        exporter:
          cfg.otlp.protocol === 'http/json'
            ? new OTLPJsonMetricExporter(options)
            : new OTLPProtoMetricExporter(options),
        exportIntervalMillis: cfg.metrics.exportIntervalMs,
        exportTimeoutMillis: Math.min(30_000, cfg.metrics.exportIntervalMs),
      }),
    );
  }
  const meterProvider = new MeterProvider({ resource, readers });
  metricsApi.setGlobalMeterProvider(meterProvider);
  const metrics = new BatonMetrics(
    meterProvider.getMeter('baton'),
    new LabelCap(cfg.metrics.maxJobsPerTenant, cfg.metrics.maxTenants),
  );
  let tracerProvider: NodeTracerProvider | null = null;
  const exporters = spanExporters(cfg);
  const direct = extra.spanExporters ?? [];
  if (exporters.length + direct.length > 0) {
    const spanProcessors: SpanProcessor[] = [
      ...exporters.map((e) => new BatchSpanProcessor(e, { scheduledDelayMillis: cfg.batchDelayMs })),
      ...direct.map((e) => new SimpleSpanProcessor(e)),
    ];
    tracerProvider = new NodeTracerProvider({
      resource,
      sampler: samplerOf(cfg),
      idGenerator: tracing.ids,
      spanProcessors,
    });
    tracerProvider.register({ propagator: new W3CTraceContextPropagator() });
    tracing.tracer = tracerProvider.getTracer('baton');
  }
  installed = { metrics, prometheus, meterProvider, tracerProvider };
  return metrics;
}

/** This process's instruments (set up with defaults if `startTelemetry` was not called: tests, tools). */
export function batonMetrics(): BatonMetrics {
  return installed?.metrics ?? startTelemetry();
}

/** The Prometheus text of every metric of this process (what `GET /metrics` answers). */
export async function prometheusText(): Promise<string> {
  if (!installed) startTelemetry();
  const { resourceMetrics, errors } = await installed!.prometheus.collect();
  for (const err of errors) diag.warn('metric collection failed', err);
  return serializer.serialize(resourceMetrics);
}

/** Sends what is buffered (spans, OTLP metrics). */
export async function flushTelemetry(): Promise<void> {
  await installed?.tracerProvider?.forceFlush();
  await installed?.meterProvider.forceFlush();
}

/** Flushes and stops exporting (at process exit). */
export async function shutdownTelemetry(): Promise<void> {
  const i = installed;
  if (!i) return;
  await i.tracerProvider?.shutdown().catch(() => undefined);
  await i.meterProvider.shutdown().catch(() => undefined);
}
