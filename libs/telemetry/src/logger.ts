import type { LoggerService } from '@nestjs/common';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { type DestinationStream, pino, stdTimeFunctions } from 'pino';
import { maskOrder, maskOrdered } from '@baton/domain';
import { tracing } from './state.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

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

// Defence in depth beside maskSecrets: request credentials never leave pino, whatever a caller passes.
const REDACT = ['authorization', 'cookie', '*.authorization', '*.cookie', 'headers.authorization', 'headers.cookie'];

/** `trace_id` / `span_id` of the active span (nothing when tracing is off or no span is active). */
function traceFields(): Record<string, string> {
  if (!tracing.tracer) return {};
  const sc = trace.getSpanContext(context.active());
  return sc && isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** One pino line (JSON) as the text format: `time LEVEL [component] msg k=v ...`. */
function textLine(json: string): string {
  const { time, level, component, msg, ...rest } = JSON.parse(json) as Record<string, unknown>;
  const extra = Object.entries(rest)
    .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('');
  return `${String(time)} ${String(level).toUpperCase().padEnd(5)} [${typeof component === 'string' ? component : 'baton'}] ${String(msg)}${extra}`;
}

/**
 * The process logger: pino underneath (JSON lines, or the text format for a
 * terminal), secrets masked in the message and every field before pino sees
 * them, `trace_id` / `span_id` on lines written inside a span.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const stream: DestinationStream = {
    write: (line: string) => {
      const json = line.endsWith('\n') ? line.slice(0, -1) : line;
      write(opts.format === 'json' ? json : textLine(json));
    },
  };
  const root = pino(
    {
      level: opts.level,
      base: null,
      messageKey: 'msg',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: traceFields,
      redact: { paths: REDACT, censor: '***' },
    },
    stream,
  );
  const make = (component: string | undefined): Logger => {
    const p = component ? root.child({ component }) : root;
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (!p.isLevelEnabled(level)) return;
      p[level](fields ? (maskSecrets(fields) as LogFields) : {}, maskSecrets(msg) as string);
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (c) => make(c),
    };
  };
  return make(opts.component);
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
