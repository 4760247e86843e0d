/** Errors of @harakaflow/db. Codes are public API (see README). */
export class DatabaseError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseError';
    this.code = code;
  }
}

export const invalidOption = (option: string, why: string): TypeError =>
  Object.assign(new TypeError(`@harakaflow/db: option "${option}" ${why}`), { code: 'HF_DB_INVALID_OPTION' });
