export * from './agent-tokens/agent-tokens.service.js';
export * from './bootstrap/bootstrap.service.js';
export * from './tenancy.module.js';
