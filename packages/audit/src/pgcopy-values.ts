/** The column types of the binary COPY encoder (pgcopy.ts), its value error, and the text values it parses. */
export type CopyType =
  'int2' | 'int4' | 'int8' | 'float8' | 'bool' | 'bytea' | 'text' | 'uuid' | 'date' | 'timestamptz' | 'jsonb';

/**
 * A value of the wrong type or form for its column: a bug in the caller, never data sent half-encoded.
 * It stays a class (not an @fastify/error constant of errors.ts): it never reaches a caller of the
 * plugin, a batch whose encoding throws fails like any write, logged with its code.
 */
export class CopyValueError extends TypeError {
  readonly code = 'HF_AUDIT_COPY_VALUE';
  constructor(type: CopyType, detail: string) {
    super(`a ${type} value for COPY ${detail}`);
    this.name = 'CopyValueError';
  }
}

export const DAY_MS = 86_400_000;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const UUID_TEXT = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** The days since the Unix epoch of a 'YYYY-MM-DD' (UTC calendar day). */
export function unixDaysOf(v: string): number {
  const m = DATE_TEXT.exec(v);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  // Date.UTC rolls 2026-02-30 over into March: refuse what does not round-trip.
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== v)
    throw new CopyValueError('date', 'is not a YYYY-MM-DD day');
  return ms / DAY_MS;
}

/** The hex of a UUID's 16 bytes from its text form (hyphens or none). */
export function uuidHexOf(v: string): string {
  if (!UUID_TEXT.test(v)) throw new CopyValueError('uuid', 'is not a UUID');
  return v.length === 36 ? v.slice(0, 8) + v.slice(9, 13) + v.slice(14, 18) + v.slice(19, 23) + v.slice(24) : v;
}
