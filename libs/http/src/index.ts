export * from './pagination.js';
export * from './problem.js';
export * from './validate.js';
export * from './api-doc.js';
