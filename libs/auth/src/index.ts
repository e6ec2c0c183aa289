export * from './abilities.js';
export * from './auth.guard.js';
export * from './principal.js';
export * from './tokens.js';
