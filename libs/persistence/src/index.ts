export * from './columns.js';
export * from './database.js';
export * from './entities/index.js';
export * from './ids.js';
export * from './migrations/index.js';
export * from './naming.js';
export * from './persistence.module.js';
export * from './scope.js';
