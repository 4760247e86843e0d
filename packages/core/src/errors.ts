/**
 * Every code an error of @harakaflow/core carries. All are thrown at registration (a handler, a
 * retention class, a metric or a sink that is wrong or given twice), never in answer to a request:
 * TypeErrors and Errors with a `code`, as the style has for startup errors, so core needs no
 * @fastify/error (and no Fastify at run time).
 */
export type CoreErrorCode =
  | 'HF_CORE_DUPLICATE_HANDLER'
  | 'HF_CORE_INVALID_HANDLER'
  | 'HF_CORE_DUPLICATE_RETENTION_CLASS'
  | 'HF_CORE_INVALID_RETENTION_CLASS'
  | 'HF_CORE_INVALID_METRIC'
  | 'HF_CORE_METRICS_BOUND_LATE'
  | 'HF_CORE_METRICS_BOUND_TWICE';

/**
 * What of an error may be logged: the codes of the error and its causes, nothing else. A driver's
 * message quotes the failed query with its parameters (IPs, user agents, subject ids, secrets).
 */
export function errorCodes(error: unknown): { codes: string[] } {
  const codes: string[] = [];
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[\w.-]{1,40}$/.test(code)) codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return { codes };
}

/** What the shared serializer keeps of an error. */
export interface LoggedError {
  type: string;
  codes: string[];
  statusCode?: number;
  /** Stack frames only ("at ..." lines): the first line of a stack repeats the message. */
  stack?: string[];
}

/**
 * The one error serializer for logs (pino's `serializers.err`): the error's name, the codes of it
 * and its causes, its status and its stack frames. Never its message, nor any other property: a
 * database driver's message and fields quote the failed query's parameters, which are personal data
 * (emails, IPs, phone numbers) or secrets. A value that is already a summary (`errorCodes(...)`)
 * passes through.
 */
export function serializeError(error: unknown): LoggedError | { codes: string[] } {
  if (
    error &&
    typeof error === 'object' &&
    !(error instanceof Error) &&
    Array.isArray((error as { codes?: unknown }).codes)
  ) {
    // Already summarized (errorCodes, or this function applied once more by the logger's own
    // serializer): keep its known fields, nothing else.
    const e = error as Partial<LoggedError> & { codes: unknown[] };
    const codes = e.codes.filter((c): c is string => typeof c === 'string');
    if (typeof e.type !== 'string') return { codes };
    return {
      type: e.type,
      codes,
      ...(typeof e.statusCode === 'number' ? { statusCode: e.statusCode } : {}),
      ...(Array.isArray(e.stack) ? { stack: e.stack.filter((l) => typeof l === 'string' && /^at /.test(l)) } : {}),
    };
  }
  const summary: LoggedError = {
    type: error instanceof Error ? error.constructor.name : typeof error,
    codes: errorCodes(error).codes,
  };
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && Number.isInteger(status)) summary.statusCode = status;
  const stack = (error as { stack?: unknown } | null)?.stack;
  if (typeof stack === 'string')
    summary.stack = stack
      .split('\n')
      .filter((line) => /^\s+at /.test(line))
      .slice(0, 12)
      .map((line) => line.trim());
  return summary;
}
