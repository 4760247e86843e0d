/** Errors of @harakaflow/db. Codes are public API (see README, "Errors"). */

/** Every code an error of @harakaflow/db carries (the README's errors table lists each). */
export type DbErrorCode =
  | 'HF_DB_INVALID_OPTION'
  | 'HF_DB_DATA_DIR_IN_USE'
  | 'HF_DB_DRIVER_MISSING'
  | 'HF_DB_MIGRATIONS_NOT_FOUND'
  | 'HF_DB_MIGRATION_CHANGED'
  | 'HF_DB_UNAVAILABLE'
  | 'HF_DB_DATABASE_MISSING'
  | 'HF_DB_AUTH_FAILED'
  | 'HF_DB_CONNECTION_REFUSED'
  | 'HF_DB_HOST_UNKNOWN'
  | 'HF_DB_CONNECT_TIMEOUT'
  | 'HF_DB_URL_INVALID'
  | 'HF_DB_CONNECT_FAILED';

/**
 * The error of every failure but a bad option. It stays a class, not @fastify/error constants: db is
 * no Fastify plugin (CLIs and workers use it without Fastify, and it has no Fastify dependency), its
 * errors carry no HTTP status (an app maps HF_DB_UNAVAILABLE to 503 through `isConnectionLoss`), and
 * callers match its name, `DatabaseError` (an @fastify/error instance is always `FastifyError`).
 */
export class DatabaseError extends Error {
  readonly code: DbErrorCode;
  constructor(code: DbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseError';
    this.code = code;
  }
}

export const invalidOption = (option: string, why: string): TypeError =>
  Object.assign(new TypeError(`@harakaflow/db: option "${option}" ${why}`), { code: 'HF_DB_INVALID_OPTION' });
