export * from './cron.js';
export * from './dag.js';
export * from './duration.js';
export * from './errors.js';
export * from './job-definition.js';
export * from './retry.js';
export * from './task-state.js';
export * from './trigger-rules.js';
