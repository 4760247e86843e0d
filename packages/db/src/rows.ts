/**
 * The rows of `db.execute(sql...)`, whichever driver ran it: postgres.js returns the rows as an
 * array, PGlite an object with `rows`.
 */
export function resultRows<T = Record<string, unknown>>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : ((result as { rows?: T[] } | null)?.rows ?? []);
}
