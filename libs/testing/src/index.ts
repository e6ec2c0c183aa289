export * from './databases.js';
export * from './processes.js';
export * from './raw-agent.js';
export * from './certificates.js';
export * from './history.js';
export * from './smtp.js';
export * from './oidc.js';
export * from './browser.js';
