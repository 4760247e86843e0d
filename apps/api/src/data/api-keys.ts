/**
 * An account's API keys (issue 30 item 11): created (the key shown once), listed (id, prefix,
 * created, last used) and revoked by the account itself, at most MAX_API_KEYS live at a time and
 * never the last one. Until then a key could be neither rotated nor revoked short of deleting the
 * account. Only each key's SHA-256 is stored (accounts.ts).
 *
 * The limit and the last-key rule hold across concurrent requests and replicas: creating and
 * revoking lock the account's row first, so two revocations of an account's last two keys cannot
 * both pass.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, count, eq, isNull, lt, or } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { generateApiKey, looksLikeApiKey, type Account } from './accounts.js';
import { accounts, apiKeys } from './schema.js';

/** Live keys an account may hold. */
export const MAX_API_KEYS = 5;
/**
 * A key's last use is written when the stored one is this old (or unset): one write a minute per key at most, off the
 * request path.
 */
export const KEY_USE_RESOLUTION_MS = 60_000;

export interface ApiKeyView {
  id: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/**
 * The account owning an unrevoked key, with the key's id and last use; null for any other token. `digestHex` is its
 * SHA-256.
 */
export async function resolveApiKey(
  db: Database,
  token: string,
  digestHex: string,
): Promise<{ account: Account; keyId: string; lastUsedAt: Date | null } | null> {
  if (!looksLikeApiKey(token)) return null;
  const [row] = await db
    .select({ account: accounts, keyId: apiKeys.id, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .where(and(eq(apiKeys.keyHash, digestHex), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row ?? null;
}

/** Records a use of the key unless one within the last minute is recorded (by this replica or another). */
export async function recordKeyUse(db: Database, keyId: string, now = new Date()): Promise<void> {
  await db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(
      and(
        eq(apiKeys.id, keyId),
        or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(now.getTime() - KEY_USE_RESOLUTION_MS))),
      ),
    );
}

/** The account's live keys, oldest first. */
export async function listApiKeys(db: Database, accountId: string): Promise<ApiKeyView[]> {
  return db
    .select({ id: apiKeys.id, prefix: apiKeys.prefix, createdAt: apiKeys.createdAt, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.accountId, accountId), isNull(apiKeys.revokedAt)))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
}

/** Locks the account's row for the transaction: key changes of one account run one at a time. */
async function lockAccount(tx: Database, accountId: string): Promise<boolean> {
  const [row] = await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId)).for('update');
  return row !== undefined;
}

const liveCount = async (tx: Database, accountId: string) =>
  Number(
    (
      await tx
        .select({ n: count() })
        .from(apiKeys)
        .where(and(eq(apiKeys.accountId, accountId), isNull(apiKeys.revokedAt)))
    )[0]?.n ?? 0,
  );

/** A new key for the account, or 'limit' when it already holds MAX_API_KEYS live keys. */
export async function createApiKey(
  db: Database,
  accountId: string,
  now = new Date(),
): Promise<(ApiKeyView & { key: string }) | 'limit'> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    if (!(await lockAccount(t, accountId))) throw new Error('no such account');
    if ((await liveCount(t, accountId)) >= MAX_API_KEYS) return 'limit' as const;
    const key = generateApiKey();
    const id = randomUUID();
    await t.insert(apiKeys).values({ id, accountId, keyHash: key.hash, prefix: key.prefix, createdAt: now });
    return { id, prefix: key.prefix, createdAt: now, lastUsedAt: null, key: key.key };
  });
}

/**
 * Revokes one of the account's live keys: 'revoked', 'not-found' (not a live key of this account) or 'last' (its only
 * live key).
 */
export async function revokeApiKey(
  db: Database,
  accountId: string,
  keyId: string,
  now = new Date(),
): Promise<'revoked' | 'not-found' | 'last'> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    if (!(await lockAccount(t, accountId))) return 'not-found' as const;
    const [key] = await t
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.accountId, accountId), isNull(apiKeys.revokedAt)));
    if (!key) return 'not-found' as const;
    if ((await liveCount(t, accountId)) <= 1) return 'last' as const;
    await t.update(apiKeys).set({ revokedAt: now }).where(eq(apiKeys.id, keyId));
    return 'revoked' as const;
  });
}
