/**
 * The encrypted store in `vault.secrets`. Values are bytes; they are sealed before they reach the
 * database and opened after they leave it. A batch of writes is one transaction.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, count, eq, inArray, ne, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { DEFAULT_NAMESPACE, keyIdOf, NAMESPACE_PATTERN, open, rewrap, seal, type RecordPlace } from './envelope.js';
import type { KeyProvider } from './keyring.js';
import { secrets } from './schema.js';

const ns = (namespace: string | undefined) => {
  const n = namespace ?? DEFAULT_NAMESPACE;
  if (!NAMESPACE_PATTERN.test(n)) throw new TypeError(`@harakaflow/credential-vault: namespace must match ${NAMESPACE_PATTERN}`);
  return n;
};
/** The where clause of one record's place. */
const at = (place: RecordPlace) => and(eq(secrets.namespace, ns(place.namespace)), eq(secrets.accountId, place.accountId), eq(secrets.sessionId, place.sessionId), eq(secrets.name, place.name));

export interface StoredName {
  namespace: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export class VaultStore {
  readonly #db: Database;
  readonly keys: KeyProvider;

  constructor(db: Database, keys: KeyProvider) {
    this.#db = db;
    this.keys = keys;
  }

  async put(place: RecordPlace, value: Uint8Array): Promise<{ updatedAt: Date }> {
    const [row] = await this.#upsert(this.#db, [await this.#row(place, value)]);
    return { updatedAt: row!.updatedAt };
  }

  /** Writes and deletes (null) many records of one session in one transaction (namespace: default `whatsapp`). */
  async putMany(accountId: string, sessionId: string, entries: { name: string; value: Uint8Array | null }[], namespace?: string): Promise<void> {
    if (!entries.length) return;
    const n = ns(namespace);
    const writes = await Promise.all(
      entries.filter((e) => e.value !== null).map((e) => this.#row({ namespace: n, accountId, sessionId, name: e.name }, e.value!)),
    );
    const deletes = entries.filter((e) => e.value === null).map((e) => e.name);
    await this.#db.transaction(async (tx) => {
      if (writes.length) await this.#upsert(tx as unknown as Database, writes);
      if (deletes.length) {
        await tx.delete(secrets).where(and(eq(secrets.namespace, n), eq(secrets.accountId, accountId), eq(secrets.sessionId, sessionId), inArray(secrets.name, deletes)));
      }
    });
  }

  async get(place: RecordPlace): Promise<{ value: Buffer; updatedAt: Date } | null> {
    const [row] = await this.#db.select({ ciphertext: secrets.ciphertext, updatedAt: secrets.updatedAt }).from(secrets).where(at(place));
    if (!row) return null;
    return { value: await open(row.ciphertext, place, this.keys), updatedAt: row.updatedAt };
  }

  async getMany(accountId: string, sessionId: string, names: string[], namespace?: string): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    if (!names.length) return out;
    const n = ns(namespace);
    const rows = await this.#db
      .select({ name: secrets.name, ciphertext: secrets.ciphertext })
      .from(secrets)
      .where(and(eq(secrets.namespace, n), eq(secrets.accountId, accountId), eq(secrets.sessionId, sessionId), inArray(secrets.name, names)));
    for (const row of rows) out.set(row.name, await open(row.ciphertext, { namespace: n, accountId, sessionId, name: row.name }, this.keys));
    return out;
  }

  async delete(place: RecordPlace): Promise<boolean> {
    const rows = await this.#db.delete(secrets).where(at(place)).returning({ id: secrets.id });
    return rows.length > 0;
  }

  /**
   * Moves a record to another place (a namespace migration): opened under its old place, sealed
   * under the new one, the old row deleted, in one transaction. False when there is nothing at `from`.
   */
  async move(from: RecordPlace, to: RecordPlace): Promise<boolean> {
    const found = await this.get(from);
    if (!found) return false;
    const row = await this.#row(to, found.value);
    found.value.fill(0);
    await this.#db.transaction(async (tx) => {
      await tx.delete(secrets).where(at(from));
      await this.#upsert(tx as unknown as Database, [row]);
    });
    return true;
  }

  /**
   * Moves up to `batchSize` records of session `fromSession` of the default namespace, of every
   * account, to `to` (a namespace and session): the resumable, bulk form of `move` for a package
   * that kept its records in the default namespace before namespaces existed. Rerun until
   * `remaining` is 0; each record moves in its own transaction.
   */
  async moveSession(fromSession: string, to: { namespace: string; sessionId: string }, batchSize = 200): Promise<{ moved: number; remaining: number }> {
    const where = and(eq(secrets.namespace, DEFAULT_NAMESPACE), eq(secrets.sessionId, fromSession));
    const rows = await this.#db.select({ accountId: secrets.accountId, name: secrets.name }).from(secrets).where(where).limit(batchSize);
    let moved = 0;
    for (const row of rows) {
      if (await this.move({ accountId: row.accountId, sessionId: fromSession, name: row.name }, { namespace: to.namespace, accountId: row.accountId, sessionId: to.sessionId, name: row.name })) moved++;
    }
    const [left] = await this.#db.select({ n: count() }).from(secrets).where(where);
    return { moved, remaining: Number(left?.n ?? 0) };
  }

  /** Names (never values) of an account's records, in every namespace, or of one session of a namespace. */
  async list(accountId: string, sessionId?: string, namespace?: string): Promise<(StoredName & { sessionId: string })[]> {
    return this.#db
      .select({ namespace: secrets.namespace, sessionId: secrets.sessionId, name: secrets.name, createdAt: secrets.createdAt, updatedAt: secrets.updatedAt })
      .from(secrets)
      .where(sessionId === undefined ? eq(secrets.accountId, accountId) : and(eq(secrets.namespace, ns(namespace)), eq(secrets.accountId, accountId), eq(secrets.sessionId, sessionId)))
      .orderBy(asc(secrets.namespace), asc(secrets.sessionId), asc(secrets.name));
  }

  /** Crypto-shreds a whole session (of the `whatsapp` namespace unless another is named). */
  async deleteSession(accountId: string, sessionId: string, namespace?: string): Promise<number> {
    const rows = await this.#db
      .delete(secrets)
      .where(and(eq(secrets.namespace, ns(namespace)), eq(secrets.accountId, accountId), eq(secrets.sessionId, sessionId)))
      .returning({ id: secrets.id });
    return rows.length;
  }

  /** Every record of an account, in every namespace (erasure). */
  async deleteAccount(accountId: string): Promise<number> {
    const rows = await this.#db.delete(secrets).where(eq(secrets.accountId, accountId)).returning({ id: secrets.id });
    return rows.length;
  }

  /** Records per KEK id: an old KEK can go when its count is 0. */
  async status(): Promise<Record<string, number>> {
    const rows = await this.#db.select({ kekId: secrets.kekId, n: count() }).from(secrets).groupBy(secrets.kekId);
    return Object.fromEntries(rows.map((r) => [r.kekId, Number(r.n)]));
  }

  /**
   * Re-wraps up to `batchSize` records under an older, still available KEK (payloads are not
   * decrypted). `remaining` counts those left; records under a KEK not in the keyring are skipped.
   * Resumable and idempotent: each row is updated only if its ciphertext is still the one read, so a
   * concurrent write is never overwritten, and a rerun continues where the last one stopped.
   */
  async rewrapBatch(batchSize = 500): Promise<{ rewrapped: number; remaining: number }> {
    const active = this.keys.activeKeyId;
    // Only records whose KEK is available can be re-wrapped; the others are left (and counted).
    const kekIds = (await this.#db.selectDistinct({ kekId: secrets.kekId }).from(secrets).where(ne(secrets.kekId, active)))
      .map((r) => r.kekId)
      .filter((id) => this.keys.has(id));
    const rows = kekIds.length
      ? await this.#db
          .select({ id: secrets.id, namespace: secrets.namespace, accountId: secrets.accountId, sessionId: secrets.sessionId, name: secrets.name, ciphertext: secrets.ciphertext })
          .from(secrets)
          .where(inArray(secrets.kekId, kekIds))
          .limit(batchSize)
      : [];
    let rewrapped = 0;
    for (const row of rows) {
      const next = await rewrap(row.ciphertext, row, this.keys);
      const updated = await this.#db
        .update(secrets)
        .set({ ciphertext: next, kekId: keyIdOf(next) })
        .where(and(eq(secrets.id, row.id), sql`${secrets.ciphertext} = ${row.ciphertext}`))
        .returning({ id: secrets.id });
      rewrapped += updated.length;
    }
    const [left] = await this.#db.select({ n: count() }).from(secrets).where(kekIds.length ? inArray(secrets.kekId, kekIds) : sql`false`);
    return { rewrapped, remaining: Number(left?.n ?? 0) };
  }

  async #row(place: RecordPlace, value: Uint8Array) {
    const namespace = ns(place.namespace);
    const ciphertext = await seal(value, { ...place, namespace }, this.keys);
    return { id: randomUUID(), namespace, accountId: place.accountId, sessionId: place.sessionId, name: place.name, ciphertext, kekId: keyIdOf(ciphertext), updatedAt: new Date() };
  }

  #upsert(db: Database, rows: (typeof secrets.$inferInsert)[]) {
    return db
      .insert(secrets)
      .values(rows)
      .onConflictDoUpdate({
        target: [secrets.accountId, secrets.namespace, secrets.sessionId, secrets.name],
        set: { ciphertext: sql`excluded.ciphertext`, kekId: sql`excluded.kek_id`, updatedAt: sql`excluded.updated_at` },
      })
      .returning({ updatedAt: secrets.updatedAt });
  }
}
