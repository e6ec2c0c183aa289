export * from './cron/cron-scheduler.service.js';
export * from './trigger.module.js';
