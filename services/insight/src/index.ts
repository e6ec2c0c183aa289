export * from './insight.module.js';
export * from './sla/sla-tracker.service.js';
export * from './alerts/alert-transports.js';
