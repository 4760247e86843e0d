/**
 * The encrypted store in `vault.secrets`. Values are bytes; they are sealed before they reach the
 * database and opened after they leave it. A batch of writes is one transaction.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, count, eq, inArray } from 'drizzle-orm';
import { DEFAULT_NAMESPACE, open, type RecordPlace } from './envelope.js';
import { StoreFailed } from './errors.js';
import type { KeyProvider } from './keyring.js';
import { secrets } from './schema.js';
import { checkBatch, rewrapBatch, type UnreadableRecord } from './store-rotation.js';
import { at, ns, ROWS_PER_STATEMENT, sealedRow, upsertRows, writing } from './store-rows.js';

export interface StoredName {
  namespace: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Why a record did not open, as the decryption-failures metric labels it: the vault's two codes, else `other` (a key
 * provider's own failure).
 */
export type OpenFailure = 'HF_VAULT_DECRYPT_FAILED' | 'HF_VAULT_KEY_UNAVAILABLE' | 'other';

export class VaultStore {
  readonly #db: Database;
  readonly keys: KeyProvider;
  readonly #onOpenFailed: ((code: OpenFailure) => void) | undefined;

  /** `onOpenFailed`: a record read for a caller (get, getMany, move) did not open. */
  constructor(
    db: Database,
    keys: KeyProvider,
    hooks: { onOpenFailed?: ((code: OpenFailure) => void) | undefined } = {},
  ) {
    this.#db = db;
    this.keys = keys;
    this.#onOpenFailed = hooks.onOpenFailed;
  }

  async #open(blob: Uint8Array, place: RecordPlace): Promise<Buffer> {
    try {
      return await open(blob, place, this.keys);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      this.#onOpenFailed?.(code === 'HF_VAULT_DECRYPT_FAILED' || code === 'HF_VAULT_KEY_UNAVAILABLE' ? code : 'other');
      throw error;
    }
  }

  async put(place: RecordPlace, value: Uint8Array): Promise<{ updatedAt: Date }> {
    const row = await sealedRow(place, value, this.keys);
    const [stored] = await writing(() => upsertRows(this.#db, [row]));
    if (!stored) throw new StoreFailed(); // the place is held by a record of another namespace
    return { updatedAt: stored.updatedAt };
  }

  /** Writes and deletes (null) many records of one session in one transaction (namespace: default `whatsapp`). */
  async putMany(
    accountId: string,
    sessionId: string,
    entries: { name: string; value: Uint8Array | null }[],
    namespace?: string,
  ): Promise<void> {
    if (!entries.length) return;
    const n = ns(namespace);
    const writes = await Promise.all(
      entries
        .filter((e) => e.value !== null)
        .map((e) => sealedRow({ namespace: n, accountId, sessionId, name: e.name }, e.value!, this.keys)),
    );
    const deletes = entries.filter((e) => e.value === null).map((e) => e.name);
    // Any size, in chunks, all in one transaction: every entry is written, or none.
    await writing(() =>
      this.#db.transaction(async (tx) => {
        for (let i = 0; i < writes.length; i += ROWS_PER_STATEMENT)
          await upsertRows(tx as unknown as Database, writes.slice(i, i + ROWS_PER_STATEMENT));
        for (let i = 0; i < deletes.length; i += ROWS_PER_STATEMENT * 5) {
          await tx
            .delete(secrets)
            .where(
              and(
                eq(secrets.namespace, n),
                eq(secrets.accountId, accountId),
                eq(secrets.sessionId, sessionId),
                inArray(secrets.name, deletes.slice(i, i + ROWS_PER_STATEMENT * 5)),
              ),
            );
        }
      }),
    );
  }

  async get(place: RecordPlace): Promise<{ value: Buffer; updatedAt: Date } | null> {
    const [row] = await this.#db
      .select({ ciphertext: secrets.ciphertext, updatedAt: secrets.updatedAt })
      .from(secrets)
      .where(at(place));
    if (!row) return null;
    return { value: await this.#open(row.ciphertext, place), updatedAt: row.updatedAt };
  }

  async getMany(
    accountId: string,
    sessionId: string,
    names: string[],
    namespace?: string,
  ): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    if (!names.length) return out;
    const n = ns(namespace);
    const rows = await this.#db
      .select({ name: secrets.name, ciphertext: secrets.ciphertext })
      .from(secrets)
      .where(
        and(
          eq(secrets.namespace, n),
          eq(secrets.accountId, accountId),
          eq(secrets.sessionId, sessionId),
          inArray(secrets.name, names),
        ),
      );
    for (const row of rows)
      out.set(row.name, await this.#open(row.ciphertext, { namespace: n, accountId, sessionId, name: row.name }));
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
    const row = await sealedRow(to, found.value, this.keys);
    found.value.fill(0);
    await writing(() =>
      this.#db.transaction(async (tx) => {
        await tx.delete(secrets).where(at(from));
        await upsertRows(tx as unknown as Database, [row]);
      }),
    );
    return true;
  }

  /**
   * Moves up to `batchSize` records of session `fromSession` of the default namespace, of every
   * account, to `to` (a namespace and session): the resumable, bulk form of `move` for a package
   * that kept its records in the default namespace before namespaces existed. Rerun until
   * `remaining` is 0; each record moves in its own transaction.
   */
  async moveSession(
    fromSession: string,
    to: { namespace: string; sessionId: string },
    batchSize = 200,
  ): Promise<{ moved: number; remaining: number }> {
    const where = and(eq(secrets.namespace, DEFAULT_NAMESPACE), eq(secrets.sessionId, fromSession));
    const rows = await this.#db
      .select({ accountId: secrets.accountId, name: secrets.name })
      .from(secrets)
      .where(where)
      .limit(batchSize);
    let moved = 0;
    for (const row of rows) {
      if (
        await this.move(
          { accountId: row.accountId, sessionId: fromSession, name: row.name },
          { namespace: to.namespace, accountId: row.accountId, sessionId: to.sessionId, name: row.name },
        )
      )
        moved++;
    }
    const [left] = await this.#db.select({ n: count() }).from(secrets).where(where);
    return { moved, remaining: Number(left?.n ?? 0) };
  }

  /** Names (never values) of an account's records, in every namespace, or of one session of a namespace. */
  async list(
    accountId: string,
    sessionId?: string,
    namespace?: string,
  ): Promise<(StoredName & { sessionId: string })[]> {
    return this.#db
      .select({
        namespace: secrets.namespace,
        sessionId: secrets.sessionId,
        name: secrets.name,
        createdAt: secrets.createdAt,
        updatedAt: secrets.updatedAt,
      })
      .from(secrets)
      .where(
        sessionId === undefined
          ? eq(secrets.accountId, accountId)
          : and(
              eq(secrets.namespace, ns(namespace)),
              eq(secrets.accountId, accountId),
              eq(secrets.sessionId, sessionId),
            ),
      )
      .orderBy(asc(secrets.namespace), asc(secrets.sessionId), asc(secrets.name));
  }

  /** Crypto-shreds a whole session (of the `whatsapp` namespace unless another is named). */
  async deleteSession(accountId: string, sessionId: string, namespace?: string): Promise<number> {
    const rows = await this.#db
      .delete(secrets)
      .where(
        and(eq(secrets.namespace, ns(namespace)), eq(secrets.accountId, accountId), eq(secrets.sessionId, sessionId)),
      )
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
   * Re-wraps up to `batchSize` records under an older, still available KEK, in id order after
   * `afterId` (store-rotation.ts says how a run walks and what it skips).
   */
  rewrapBatch(
    batchSize = 500,
    afterId: string | null = null,
  ): Promise<{ rewrapped: number; remaining: number; unreadable: UnreadableRecord[]; lastId: string | null }> {
    return rewrapBatch(this.#db, this.keys, batchSize, afterId);
  }

  /** Opens up to `batchSize` records after `afterId` and returns those that do not open (`hf-vault status`). */
  checkBatch(
    batchSize = 500,
    afterId: string | null = null,
  ): Promise<{ checked: number; unreadable: UnreadableRecord[]; lastId: string | null }> {
    return checkBatch(this.#db, this.keys, batchSize, afterId);
  }
}
