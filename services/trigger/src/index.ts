export * from './time/time-triggers.service.js';
export * from './trigger.module.js';
