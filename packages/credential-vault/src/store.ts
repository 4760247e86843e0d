/**
 * The encrypted store in `vault.secrets`. Values are bytes; they are sealed before they reach the
 * database and opened after they leave it. A batch of writes is one transaction.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, count, eq, inArray, ne, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { keyIdOf, open, rewrap, seal, type RecordPlace } from './envelope.js';
import type { KeyProvider } from './keyring.js';
import { secrets } from './schema.js';

export interface StoredName {
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

  /** Writes and deletes (null) many records of one session in one transaction. */
  async putMany(accountId: string, sessionId: string, entries: { name: string; value: Uint8Array | null }[]): Promise<void> {
    if (!entries.length) return;
    const writes = await Promise.all(
      entries.filter((e) => e.value !== null).map((e) => this.#row({ accountId, sessionId, name: e.name }, e.value!)),
    );
    const deletes = entries.filter((e) => e.value === null).map((e) => e.name);
    await this.#db.transaction(async (tx) => {
      if (writes.length) await this.#upsert(tx as unknown as Database, writes);
      if (deletes.length) {
        await tx.delete(secrets).where(and(eq(secrets.accountId, accountId), eq(secrets.sessionId, sessionId), inArray(secrets.name, deletes)));
      }
    });
  }

  async get(place: RecordPlace): Promise<{ value: Buffer; updatedAt: Date } | null> {
    const [row] = await this.#db
      .select({ ciphertext: secrets.ciphertext, updatedAt: secrets.updatedAt })
      .from(secrets)
      .where(and(eq(secrets.accountId, place.accountId), eq(secrets.sessionId, place.sessionId), eq(secrets.name, place.name)));
    if (!row) return null;
    return { value: await open(row.ciphertext, place, this.keys), updatedAt: row.updatedAt };
  }

  async getMany(accountId: string, sessionId: string, names: string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    if (!names.length) return out;
    const rows = await this.#db
      .select({ name: secrets.name, ciphertext: secrets.ciphertext })
      .from(secrets)
      .where(and(eq(secrets.accountId, accountId), eq(secrets.sessionId, sessionId), inArray(secrets.name, names)));
    for (const row of rows) out.set(row.name, await open(row.ciphertext, { accountId, sessionId, name: row.name }, this.keys));
    return out;
  }

  async delete(place: RecordPlace): Promise<boolean> {
    const rows = await this.#db
      .delete(secrets)
      .where(and(eq(secrets.accountId, place.accountId), eq(secrets.sessionId, place.sessionId), eq(secrets.name, place.name)))
      .returning({ id: secrets.id });
    return rows.length > 0;
  }

  /** Names (never values) of a session's records. */
  async list(accountId: string, sessionId?: string): Promise<(StoredName & { sessionId: string })[]> {
    return this.#db
      .select({ sessionId: secrets.sessionId, name: secrets.name, createdAt: secrets.createdAt, updatedAt: secrets.updatedAt })
      .from(secrets)
      .where(sessionId === undefined ? eq(secrets.accountId, accountId) : and(eq(secrets.accountId, accountId), eq(secrets.sessionId, sessionId)))
      .orderBy(asc(secrets.sessionId), asc(secrets.name));
  }

  /** Crypto-shreds a whole session. */
  async deleteSession(accountId: string, sessionId: string): Promise<number> {
    const rows = await this.#db
      .delete(secrets)
      .where(and(eq(secrets.accountId, accountId), eq(secrets.sessionId, sessionId)))
      .returning({ id: secrets.id });
    return rows.length;
  }

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
          .select({ id: secrets.id, accountId: secrets.accountId, sessionId: secrets.sessionId, name: secrets.name, ciphertext: secrets.ciphertext })
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
    const ciphertext = await seal(value, place, this.keys);
    return { id: randomUUID(), ...place, ciphertext, kekId: keyIdOf(ciphertext), updatedAt: new Date() };
  }

  #upsert(db: Database, rows: (typeof secrets.$inferInsert)[]) {
    return db
      .insert(secrets)
      .values(rows)
      .onConflictDoUpdate({
        target: [secrets.accountId, secrets.sessionId, secrets.name],
        set: { ciphertext: sql`excluded.ciphertext`, kekId: sql`excluded.kek_id`, updatedAt: sql`excluded.updated_at` },
      })
      .returning({ updatedAt: secrets.updatedAt });
  }
}
