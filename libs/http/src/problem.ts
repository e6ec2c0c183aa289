import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { Request, Response } from 'express';

export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * Every error a Baton API answers with: RFC 9457 problem+json with a stable
 * `code`, and `errors[].path` naming each bad field.
 */
export class ProblemException extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors: readonly FieldProblem[] = [],
    /** Seconds the client should wait before trying again (the `Retry-After` header). */
    readonly retryAfterSeconds: number | null = null,
    /** RFC 9457 extension members added to the body (e.g. the quota that refused). */
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(detail);
    this.name = 'ProblemException';
  }

  static badRequest(detail: string, errors: readonly FieldProblem[] = []) {
    return new ProblemException(400, 'invalid_request', detail, errors);
  }
  static invalidField(path: string, message: string) {
    return new ProblemException(400, 'invalid_request', `${path}: ${message}`, [{ path, message }]);
  }
  static notFound(what: string) {
    return new ProblemException(404, 'not_found', `${what} not found`);
  }
  static conflict(detail: string) {
    return new ProblemException(409, 'conflict', detail);
  }
  static unauthorized(detail = 'missing or invalid credentials') {
    return new ProblemException(401, 'unauthorized', detail);
  }
  static forbidden(detail = 'not allowed') {
    return new ProblemException(403, 'forbidden', detail);
  }
  static tooManyRequests(detail: string, retryAfterMs: number) {
    return new ProblemException(429, 'too_many_requests', detail, [], Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }
  /** A tenant quota refused the call: `quota` and `limit` in the body, `Retry-After` when waiting helps. */
  static quotaExceeded(
    status: 400 | 409 | 429,
    refusal: { quota: string; limit: number; message: string },
    retryAfterMs: number | null = null,
  ) {
    return new ProblemException(
      status,
      'quota_exceeded',
      refusal.message,
      [],
      retryAfterMs === null ? null : Math.max(1, Math.ceil(retryAfterMs / 1000)),
      { quota: refusal.quota, limit: refusal.limit },
    );
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

/** An error body-parser raises (http-errors): a 4xx status, a `type` such as `entity.too.large`, safe to show. */
interface BodyParserError {
  status: number;
  type: string;
  expose: true;
  message: string;
  limit?: number;
  length?: number;
}

function isBodyParserError(e: unknown): e is BodyParserError {
  const x = e as Partial<BodyParserError> | null;
  return (
    e instanceof Error &&
    typeof x?.status === 'number' &&
    x.status >= 400 &&
    x.status < 500 &&
    typeof x.type === 'string' &&
    x.expose === true
  );
}

const bytes = (n: number) =>
  n >= 1_048_576 && n % 1_048_576 === 0
    ? `${n / 1_048_576} MiB`
    : n >= 1_024 && n % 1_024 === 0
      ? `${n / 1_024} KiB`
      : `${n} bytes`;

/** What to tell the client about a body the parser refused. */
function bodyProblem(e: BodyParserError): { status: number; code: string; detail: string } {
  if (e.type === 'entity.too.large') {
    const size = typeof e.length === 'number' && Number.isFinite(e.length) ? ` (${bytes(e.length)})` : '';
    const limit = typeof e.limit === 'number' ? bytes(e.limit) : 'the limit';
    return {
      status: 413,
      code: 'payload_too_large',
      detail: `the request body${size} is larger than ${limit}, the most this API accepts`,
    };
  }
  return { status: e.status, code: e.status === 415 ? 'unsupported_media_type' : 'invalid_request', detail: e.message };
}

export interface ErrorLogger {
  error(msg: string, fields?: Record<string, unknown>): void;
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: ErrorLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    let status = 500;
    let code = 'internal';
    let detail = 'internal error';
    let errors: readonly FieldProblem[] = [];
    let extensions: Readonly<Record<string, unknown>> = {};
    if (exception instanceof ProblemException) {
      ({ status, code, detail, errors, extensions } = exception);
      if (exception.retryAfterSeconds !== null) res.setHeader('Retry-After', String(exception.retryAfterSeconds));
    } else if (isBodyParserError(exception)) {
      ({ status, code, detail } = bodyProblem(exception));
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      const body = exception.getResponse();
      // Nest puts a string, or a string[] from validation, in `message`.
      const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
      detail = typeof message === 'string' ? message : Array.isArray(message) ? message.join(',') : exception.message;
      // Body-parser failures surface as 400 HttpExceptions without a field.
      code =
        status === 404
          ? 'not_found'
          : status === 413
            ? 'payload_too_large'
            : status < 500
              ? 'invalid_request'
              : 'internal';
      if (status === 400 && /JSON/.test(detail)) errors = [{ path: '(body)', message: detail }];
    } else {
      this.logger.error('unhandled error', {
        path: req.path,
        error: exception instanceof Error ? exception.stack : String(exception),
      });
    }
    res
      .status(status)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: `https://baton.dev/problems/${code}`,
          title: TITLES[status] ?? 'Error',
          status,
          code,
          detail,
          instance: req.originalUrl,
          ...(errors.length > 0 ? { errors } : {}),
          ...extensions,
        }),
      );
  }
}
