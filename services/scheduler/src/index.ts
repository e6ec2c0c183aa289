export * from './gateway/agent-gateway.js';
export * from './runs/runs.service.js';
export * from './scheduler.module.js';
