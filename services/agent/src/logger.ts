import type { AgentLogger } from './types.js';

function line(level: string, msg: string, fields?: Record<string, unknown>): string {
  const suffix = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
  return `${new Date().toISOString()} ${level} [agent] ${msg}${suffix}`;
}

/** Default logger: one line per event on the console; debug lines only when asked for, as retries log at debug. */
export function createConsoleLogger(options: { debug?: boolean } = {}): AgentLogger {
  return {
    info: (msg, fields) => console.info(line('INFO', msg, fields)),
    warn: (msg, fields) => console.warn(line('WARN', msg, fields)),
    error: (msg, fields) => console.error(line('ERROR', msg, fields)),
    debug: options.debug ? (msg, fields) => console.debug(line('DEBUG', msg, fields)) : () => undefined,
  };
}
