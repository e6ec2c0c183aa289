import type { LoggerService } from '@nestjs/common';
import { maskOrder, maskOrdered } from '@baton/domain';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// Field names whose values never reach a log line.
const SECRET_KEY = /(token|secret|password|passwd|authorization|api[-_]?key|cookie)/i;
// Baton-issued credentials have recognisable prefixes; mask them wherever they appear.
const SECRET_VALUE = /\b(bat_(?:key|agt|ses)_[A-Za-z0-9_-]{8})[A-Za-z0-9_-]+/g;

// Values this process knows are tenants' secrets (it sealed or rendered them): masked in every log line.
const MAX_KNOWN = 4096;
const known = new Set<string>();
let knownList: string[] = [];

/** Remembers secret values so that no log line of this process prints them (the oldest are forgotten past 4096). */
export function rememberSecretValues(values: Iterable<string>): void {
  let changed = false;
  for (const v of values) {
    if (v === '' || known.has(v)) continue;
    known.add(v);
    changed = true;
    if (known.size > MAX_KNOWN) known.delete(known.values().next().value!);
  }
  if (changed) knownList = maskOrder(known);
}

export function maskSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskOrdered(value, knownList).replace(SECRET_VALUE, '$1…');
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: maskSecrets(value.message) };
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v != null && v !== '' ? '***' : maskSecrets(v, depth + 1);
  }
  return out;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(component: string): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  format: 'text' | 'json';
  component?: string;
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const min = ORDER[opts.level];
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    const time = new Date().toISOString();
    const safeMsg = maskSecrets(msg) as string;
    const safe = fields ? (maskSecrets(fields) as LogFields) : undefined;
    if (opts.format === 'json') {
      write(JSON.stringify({ time, level, component: opts.component, msg: safeMsg, ...safe }));
      return;
    }
    const extra = safe
      ? ' ' +
        Object.entries(safe)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
      : '';
    write(`${time} ${level.toUpperCase().padEnd(5)} [${opts.component ?? 'baton'}] ${safeMsg}${extra}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (component) => createLogger({ ...opts, component }),
  };
}

/** Adapts the Baton logger to Nest's LoggerService. */
export class NestLoggerAdapter implements LoggerService {
  constructor(private readonly logger: Logger) {}
  // Nest's own start-up chatter (routes mapped, modules loaded) is debug detail.
  log(message: unknown, context?: string) {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error(String(message), { context, trace });
  }
  warn(message: unknown, context?: string) {
    this.logger.warn(String(message), context ? { context } : undefined);
  }
  debug(message: unknown, context?: string) {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
  verbose(message: unknown, context?: string) {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
}

export const LOGGER = Symbol.for('baton.logger');
