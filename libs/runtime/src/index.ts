export * from './app.js';
export * from './health.controller.js';
export * from './service.js';
export * from './audit.interceptor.js';
