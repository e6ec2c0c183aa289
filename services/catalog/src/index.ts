export * from './catalog.module.js';
export * from './jobs/jobs.service.js';
