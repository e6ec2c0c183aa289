export * from './bus.module.js';
export * from './events.js';
export * from './in-process-bus.js';
export * from './outbox.js';
export * from './kafka-bus.js';
export * from './run-requests.js';
export * from './drainer.js';
