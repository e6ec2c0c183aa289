export * from './edge.js';
export * from './edge.config.js';
export * from './proxy.js';
export * from './routes.js';
