import type { Tracer } from '@opentelemetry/api';
import { type IdGenerator, RandomIdGenerator } from '@opentelemetry/sdk-trace-base';

/**
 * Random ids, except for the next span when one was preset: spans recorded
 * after the fact (a run, an attempt) keep the ids their children already name.
 * Presetting and starting the span happen in one synchronous call.
 */
export class PresetIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  private spanId: string | null = null;
  private traceId: string | null = null;

  preset(spanId: string | null, traceId: string | null = null): void {
    this.spanId = spanId;
    this.traceId = traceId;
  }

  generateTraceId(): string {
    const id = this.traceId;
    this.traceId = null;
    return id ?? this.random.generateTraceId();
  }

  generateSpanId(): string {
    const id = this.spanId;
    this.spanId = null;
    return id ?? this.random.generateSpanId();
  }
}

/** This process's tracer: null while tracing is off (then no span object is ever built). */
export const tracing: { tracer: Tracer | null; ids: PresetIdGenerator } = {
  tracer: null,
  ids: new PresetIdGenerator(),
};
