export * from './abilities.js';
export * from './auth.guard.js';
export * from './passwords.js';
export * from './principal.js';
export * from './rate-limit.js';
export * from './sessions.js';
export * from './tokens.js';
