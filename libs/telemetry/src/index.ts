export * from './logger.js';
export * from './metrics.js';
export * from './otel.js';
export * from './spans.js';
export * from './telemetry.module.js';
export * from './trace.js';
export * from './http-spans.js';
