export * from './logger.js';
export * from './telemetry.module.js';
export * from './trace.js';
