/** Postgres array literals, the parameters of the UNNEST statements (store.ts, intern.ts, partitions.ts). */

/** Text elements: every element quoted, `"` and `\` escaped, null as NULL. */
const NEEDS_ESCAPE = /["\\]/;
const ESCAPE = /["\\]/g;

/** A Postgres array literal of one column of `rows`: built in one pass, no intermediate array. */
export function pgArray<T>(rows: readonly T[], get: (row: T) => string | null | undefined): string {
  let out = '{';
  for (let i = 0; i < rows.length; i++) {
    const v = get(rows[i]!);
    if (i) out += ',';
    // Most values (ids, hashes, names) need no escaping: test before paying for a replace.
    out += v === null || v === undefined ? 'NULL' : NEEDS_ESCAPE.test(v) ? `"${v.replace(ESCAPE, '\\$&')}"` : `"${v}"`;
  }
  return out + '}';
}

/** A bytea element of pgArray: `\x` and the hex of the bytes. */
export const byteaText = (b: Uint8Array | null | undefined): string | null =>
  b ? `\\x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}` : null;
