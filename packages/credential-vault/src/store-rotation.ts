/** Key rotation and checks over every record of the vault: re-wrap under the active key, find what does not open. */
import type { Database } from '@harakaflow/db';
import { and, asc, count, eq, inArray, ne, sql } from 'drizzle-orm';
import { keyIdOf, open, rewrap } from './envelope.js';
import type { KeyProvider } from './keyring.js';
import { secrets } from './schema.js';
import { writing } from './store-rows.js';

/** A record rotation or a check could not open: where it is, never what it holds. */
export interface UnreadableRecord {
  id: string;
  kekId: string;
  namespace: string;
  accountId: string;
  sessionId: string;
  name: string;
  code: string;
}

/**
 * Re-wraps up to `batchSize` records under an older, still available KEK (payloads are not
 * decrypted), in id order after `afterId`, so a run walks every record once and goes on past
 * those it cannot unwrap (issue 13 item 8): they are returned (where they are, never what they
 * hold) and left as they are. Pass the returned `lastId` to the next call; `lastId` null means
 * the walk is done. `remaining` counts records still under an older available KEK. Records under
 * a KEK not in the keyring are not touched (hf-vault status counts them). Idempotent: each row is
 * updated only if its ciphertext is still the one read, so a concurrent write is never overwritten.
 */
export async function rewrapBatch(
  db: Database,
  keys: KeyProvider,
  batchSize = 500,
  afterId: string | null = null,
): Promise<{ rewrapped: number; remaining: number; unreadable: UnreadableRecord[]; lastId: string | null }> {
  const active = keys.activeKeyId;
  const kekIds = (await db.selectDistinct({ kekId: secrets.kekId }).from(secrets).where(ne(secrets.kekId, active)))
    .map((r) => r.kekId)
    .filter((id) => keys.has(id));
  const rows = kekIds.length
    ? await page(
        db,
        and(inArray(secrets.kekId, kekIds), afterId ? sql`${secrets.id} > ${afterId}::uuid` : undefined),
        batchSize,
      )
    : [];
  let rewrapped = 0;
  const unreadable: UnreadableRecord[] = [];
  for (const row of rows) {
    let next: Buffer;
    try {
      next = await rewrap(row.ciphertext, row, keys);
    } catch (error) {
      unreadable.push(unreadableOf(row, error));
      continue;
    }
    const updated = await writing(() =>
      db
        .update(secrets)
        .set({ ciphertext: next, kekId: keyIdOf(next) })
        .where(and(eq(secrets.id, row.id), sql`${secrets.ciphertext} = ${row.ciphertext}`))
        .returning({ id: secrets.id }),
    );
    rewrapped += updated.length;
  }
  const [left] = await db
    .select({ n: count() })
    .from(secrets)
    .where(kekIds.length ? inArray(secrets.kekId, kekIds) : sql`false`);
  return {
    rewrapped,
    remaining: Number(left?.n ?? 0),
    unreadable,
    lastId: rows.length === batchSize ? rows.at(-1)!.id : null,
  };
}

/**
 * Opens up to `batchSize` records after `afterId` (id order) and returns those that do not open:
 * damaged, or under a KEK not in the keyring. For `hf-vault status`; the values are discarded.
 */
export async function checkBatch(
  db: Database,
  keys: KeyProvider,
  batchSize = 500,
  afterId: string | null = null,
): Promise<{ checked: number; unreadable: UnreadableRecord[]; lastId: string | null }> {
  const rows = await page(db, afterId ? sql`${secrets.id} > ${afterId}::uuid` : undefined, batchSize);
  const unreadable: UnreadableRecord[] = [];
  for (const row of rows) {
    try {
      (await open(row.ciphertext, row, keys)).fill(0);
    } catch (error) {
      unreadable.push(unreadableOf(row, error));
    }
  }
  return { checked: rows.length, unreadable, lastId: rows.length === batchSize ? rows.at(-1)!.id : null };
}

/** Up to `limit` records matching `where`, in id order, with what locates them. */
function page(db: Database, where: ReturnType<typeof and> | undefined, limit: number) {
  return db
    .select({
      id: secrets.id,
      kekId: secrets.kekId,
      namespace: secrets.namespace,
      accountId: secrets.accountId,
      sessionId: secrets.sessionId,
      name: secrets.name,
      ciphertext: secrets.ciphertext,
    })
    .from(secrets)
    .where(where)
    .orderBy(asc(secrets.id))
    .limit(limit);
}

function unreadableOf(
  row: { id: string; kekId: string; namespace: string; accountId: string; sessionId: string; name: string },
  error: unknown,
): UnreadableRecord {
  const code = (error as { code?: unknown }).code;
  return {
    id: row.id,
    kekId: row.kekId,
    namespace: row.namespace,
    accountId: row.accountId,
    sessionId: row.sessionId,
    name: row.name,
    code: typeof code === 'string' ? code : 'HF_VAULT_DECRYPT_FAILED',
  };
}
