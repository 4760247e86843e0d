import type { PersonalDataHandler, SubjectRef } from '@harakaflow/core';
import { isUniqueViolation, resultRows, type Database } from '@harakaflow/db';
import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { hash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { AccountExists } from './errors.js';
import { accounts, apiKeys, messageLog, notifications } from './schema.js';

export type Account = typeof accounts.$inferSelect;

export interface NewAccount {
  name: string;
  email: string;
  businessName?: string | undefined;
}

const KEY_PREFIX = 'hf_';
// 32 random bytes in base64url: 43 characters.
const KEY_PATTERN = /^hf_[A-Za-z0-9_-]{43}$/;

/** A new API key. Its SHA-256 is what is stored; the key is 256 random bits, so no slow hash is needed. */
export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 10) };
}

/**
 * The SHA-256 of a key, in hex: what is stored for account keys, the auth cache's key, and (as
 * bytes) what the admin key is compared with. One-shot `crypto.hash` straight to hex (Node 20.12+;
 * the engines field asks 20.19): every authenticated request hashes its key, and asking for a
 * Buffer instead costs 1.5 µs against 0.55 µs here, before the Buffer's own `toString('hex')`.
 */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** SHA-256 of a presented key as bytes (the admin key's digest, compared in constant time). */
export function keyDigest(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

export function looksLikeApiKey(token: string): boolean {
  return KEY_PATTERN.test(token);
}

/** Constant-time comparison of two digests of equal length (SHA-256 of secrets of any length). */
export function digestEquals(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Creates the account and its first API key in one transaction. Duplicate email: HF_ACCOUNT_EXISTS. */
export async function createAccount(
  db: Database,
  input: NewAccount,
  /** Runs inside the account's transaction (the age verification record). */
  alongside?: (tx: Database, account: Account) => Promise<void>,
): Promise<{ account: Account; apiKey: string }> {
  const key = generateApiKey();
  try {
    return await db.transaction(async (tx) => {
      const [account] = await tx
        .insert(accounts)
        .values({ id: randomUUID(), name: input.name, email: input.email, businessName: input.businessName ?? null })
        .returning();
      await tx.insert(apiKeys).values({ id: randomUUID(), accountId: account!.id, keyHash: key.hash, prefix: key.prefix });
      await alongside?.(tx as unknown as Database, account!);
      return { account: account!, apiKey: key.key };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AccountExists();
    throw error;
  }
}

/** The account owning an unrevoked key, or null. `digestHex` is its SHA-256 (hashApiKey) when the caller has it. */
export async function accountByApiKey(db: Database, key: string, digestHex: string = hashApiKey(key)): Promise<Account | null> {
  if (!looksLikeApiKey(key)) return null;
  const rows = await db
    .select({ account: accounts })
    .from(apiKeys)
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .where(and(eq(apiKeys.keyHash, digestHex), isNull(apiKeys.revokedAt)))
    .limit(1);
  return rows[0]?.account ?? null;
}

export async function accountExists(db: Database, id: string): Promise<boolean> {
  const [row] = await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, id));
  return Boolean(row);
}

export interface PublicAccount {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly businessName: string | null;
  readonly createdAt: string;
}

// One view per account row object: the auth cache hands the same row to every request of a key
// within AUTH_CACHE_MS, so GET /v1/me builds it (and formats its date) once, not per request.
// Rows are never changed in place (a correction reads a new row), so a view never goes stale.
const publicViews = new WeakMap<Account, PublicAccount>();

/** What an account's own answers show of it (never its plan's internals or deletion marks). Frozen: shared between responses. */
export function publicAccount(account: Account): PublicAccount {
  let view = publicViews.get(account);
  if (view === undefined) {
    view = Object.freeze({
      id: account.id,
      name: account.name,
      email: account.email,
      businessName: account.businessName,
      createdAt: account.createdAt.toISOString(),
    });
    publicViews.set(account, view);
  }
  return view;
}

/** The app's own personal data: the account row, its API keys' metadata (never the key digests), its notifications. */
export function appPersonalData(db: Database): PersonalDataHandler {
  return {
    name: 'app',
    identifiers: ['account'],
    withheld: 'API key digests: keys are listed by prefix and dates only',
    async exportSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      const [account] = await db.select().from(accounts).where(eq(accounts.id, subjectId));
      const sent = await db
        .select({ kind: notifications.kind, payload: notifications.payload, createdAt: notifications.createdAt, sentAt: notifications.sentAt })
        .from(notifications)
        .where(eq(notifications.accountId, subjectId));
      if (!account) return { account: null, apiKeys: [], notifications: sent };
      const keys = await db
        .select({ prefix: apiKeys.prefix, createdAt: apiKeys.createdAt, revokedAt: apiKeys.revokedAt })
        .from(apiKeys)
        .where(eq(apiKeys.accountId, subjectId));
      return { account: { ...publicAccount(account), plan: account.plan }, apiKeys: keys, notifications: sent };
    },
    async eraseSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      // API keys go with the account (ON DELETE CASCADE).
      const sent = await db.delete(notifications).where(eq(notifications.accountId, subjectId)).returning({ id: notifications.id });
      const deleted = await db.delete(accounts).where(eq(accounts.id, subjectId)).returning({ id: accounts.id });
      return { erased: deleted.length + sent.length };
    },
  };
}

// Small pages keep the export's live set young (see subjectEvents in @harakaflow/audit).
const MESSAGE_PAGE = 250;

/**
 * The message log (who sent what to whom, never the text), for an account or for one of its
 * contacts: a contact's request reaches only the rows of that account that name that number.
 * Exported page by page on the (account_id, created_at) index.
 */
export function messageLogPersonalData(db: Database): PersonalDataHandler {
  const scope = (ref: SubjectRef) =>
    ref.kind === 'contact' ? and(eq(messageLog.accountId, ref.accountId), eq(messageLog.to, ref.phone)) : eq(messageLog.accountId, (ref as { accountId: string }).accountId);
  return {
    name: 'messages',
    identifiers: ['account', 'contact'],
    async *exportSubject(ref) {
      // The cursor keeps created_at at the database's microsecond precision (a JS Date has ms: the
      // last row of a page would come again on the next one).
      let after: { at: string; id: string } | undefined;
      for (;;) {
        const page = await db
          .select({ id: messageLog.id, sessionId: messageLog.sessionId, to: messageLog.to, chars: messageLog.chars, createdAt: messageLog.createdAt, at: sql<string>`${messageLog.createdAt}::text` })
          .from(messageLog)
          // `created_at >= last` first, so each page is a range scan of the (account_id, created_at)
          // index from where the last one stopped, not a scan from the start.
          .where(
            after
              ? and(scope(ref), sql`${messageLog.createdAt} >= ${after.at}::timestamptz`, or(sql`${messageLog.createdAt} > ${after.at}::timestamptz`, gt(messageLog.id, after.id)))
              : scope(ref),
          )
          .orderBy(asc(messageLog.createdAt), asc(messageLog.id))
          .limit(MESSAGE_PAGE);
        for (const { at: _at, ...row } of page) yield { ...row, createdAt: row.createdAt.toISOString() };
        if (page.length < MESSAGE_PAGE) return;
        const last = page.at(-1)!;
        after = { at: last.at, id: last.id };
      }
    },
    async eraseSubject(ref) {
      // Counted in the database: 100,000 rows are not sent back to be counted here.
      const [row] = resultRows<{ n: number }>(await db.execute(sql`with gone as (delete from ${messageLog} where ${scope(ref)} returning 1) select count(*)::int as n from gone`));
      return { erased: Number(row?.n ?? 0) };
    },
  };
}
