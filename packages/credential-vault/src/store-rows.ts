/** The vault's rows: where a record is, how one is sealed and written, and a write's error. */
import { errorCodes } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { and, eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { DEFAULT_NAMESPACE, keyIdOf, NAMESPACE_PATTERN, seal, type RecordPlace } from './envelope.js';
import { StoreFailed } from './errors.js';
import type { KeyProvider } from './keyring.js';
import { secrets } from './schema.js';

export const ns = (namespace: string | undefined) => {
  const n = namespace ?? DEFAULT_NAMESPACE;
  if (!NAMESPACE_PATTERN.test(n))
    throw new TypeError(`@harakaflow/credential-vault: namespace must match ${NAMESPACE_PATTERN}`);
  return n;
};
/** The where clause of one record's place. */
export const at = (place: RecordPlace) =>
  and(
    eq(secrets.namespace, ns(place.namespace)),
    eq(secrets.accountId, place.accountId),
    eq(secrets.sessionId, place.sessionId),
    eq(secrets.name, place.name),
  );

/** Rows per INSERT: 7 parameters a row, far below Postgres' 65,534 (issue 13 item 9). */
export const ROWS_PER_STATEMENT = 1000;

/** Runs a write; a driver error becomes HF_VAULT_STORE_FAILED carrying only the driver's codes. */
export async function writing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw Object.assign(new StoreFailed(), { codes: errorCodes(error).codes });
  }
}

/** The row that stores `value` at `place`, sealed under the active key. */
export async function sealedRow(place: RecordPlace, value: Uint8Array, keys: KeyProvider) {
  const namespace = ns(place.namespace);
  const ciphertext = await seal(value, { ...place, namespace }, keys);
  return {
    id: randomUUID(),
    namespace,
    accountId: place.accountId,
    sessionId: place.sessionId,
    name: place.name,
    ciphertext,
    kekId: keyIdOf(ciphertext),
    updatedAt: new Date(),
  };
}

/** Inserts or replaces rows at their places; returns one `updatedAt` per row written. */
export function upsertRows(db: Database, rows: (typeof secrets.$inferInsert)[]) {
  return (
    db
      .insert(secrets)
      .values(rows)
      // The one unique index, (account, session, name) (schema.ts says why). A row of another
      // namespace at the same session and name is never overwritten (setWhere): nothing is returned.
      .onConflictDoUpdate({
        target: [secrets.accountId, secrets.sessionId, secrets.name],
        set: {
          ciphertext: sql`excluded.ciphertext`,
          kekId: sql`excluded.kek_id`,
          updatedAt: sql`excluded.updated_at`,
        },
        setWhere: sql`${secrets.namespace} = excluded.namespace`,
      })
      .returning({ updatedAt: secrets.updatedAt })
  );
}
