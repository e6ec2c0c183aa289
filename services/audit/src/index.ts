export * from './audit.module.js';
export * from './chain.js';
