export * from './gen/baton/agent/v1/agent.js';
