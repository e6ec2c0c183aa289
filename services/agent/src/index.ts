export { startAgent } from './agent.js';
export type { AgentHandle, AgentLogger, AgentOptions, AgentTlsOptions } from './types.js';
export { createConsoleLogger } from './logger.js';
export { loadAgentTls } from './tls.js';
