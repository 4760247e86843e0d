// Accounts: created with their first API key, found by key or by verified address, and their plan.
import { isUniqueViolation, type Database } from '@harakaflow/db';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { AccountExists } from '../http/errors.js';
import { generateApiKey, hashApiKey, looksLikeApiKey } from './key-digests.js';
import { accounts, apiKeys, emailVerifications, type Account } from './schema-accounts.js';

export type { Account } from './schema-accounts.js';
export { appPersonalData, messageLogPersonalData } from './account-personal-data.js';
export {
  accountsToAsk,
  askForVerification,
  confirmEmail,
  EMAIL_CODE_RESEND_MS,
  EMAIL_CODE_TRIES,
  EMAIL_CODE_TTL_MS,
  emailVerified,
  issueVerificationCode,
  normalizeCode,
  verificationCodeKey,
} from './email-verification.js';
export { digestEquals, generateApiKey, hashApiKey, keyDigest, looksLikeApiKey } from './key-digests.js';
export { publicAccount, type PublicAccount } from './public-account.js';

export interface NewAccount {
  name: string;
  email: string;
  businessName?: string | undefined;
}

/**
 * A name or business name (issue 30 item 6): at least one visible character, and no control
 * character (U+0000 to U+001F, U+007F, U+0080 to U+009F), line or paragraph separator (U+2028,
 * U+2029) or bidi embedding, override or isolate (U+202A to U+202E, U+2066 to U+2069). A name is
 * shown in emails and on pages: it must not start a paragraph of its own or read as something
 * else. The route's JSON schema refuses anything else with 400 HF_VALIDATION_FAILED.
 */
const NOT_IN_NAMES = '\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069';
export const NAME_PATTERN = `^[^${NOT_IN_NAMES}]*[^\\s${NOT_IN_NAMES}][^${NOT_IN_NAMES}]*$`;

/**
 * Creates the account and its first API key in one transaction, with its email verification asked
 * for (the caller queues the message, `requestedAt` its key). Duplicate email: HF_ACCOUNT_EXISTS.
 */
export async function createAccount(
  db: Database,
  input: NewAccount,
  /** Runs inside the account's transaction (the age verification record). */
  alongside?: (tx: Database, account: Account) => Promise<void>,
): Promise<{ account: Account; apiKey: string; requestedAt: Date }> {
  const key = generateApiKey();
  try {
    return await db.transaction(async (tx) => {
      const [account] = await tx
        .insert(accounts)
        .values({ id: randomUUID(), name: input.name, email: input.email, businessName: input.businessName ?? null })
        .returning();
      await tx
        .insert(apiKeys)
        .values({ id: randomUUID(), accountId: account!.id, keyHash: key.hash, prefix: key.prefix });
      const requestedAt = new Date();
      await tx.insert(emailVerifications).values({ accountId: account!.id, email: account!.email, requestedAt });
      await alongside?.(tx as unknown as Database, account!);
      return { account: account!, apiKey: key.key, requestedAt };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AccountExists();
    throw error;
  }
}

/** The account owning an unrevoked key, or null. `digestHex` is its SHA-256 (hashApiKey) when the caller has it. */
export async function accountByApiKey(
  db: Database,
  key: string,
  digestHex: string = hashApiKey(key),
): Promise<Account | null> {
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

/** The account's plan (free, pro, business), or undefined when there is no such account. */
export async function planOfAccount(db: Database, id: string): Promise<string | undefined> {
  const [row] = await db.select({ plan: accounts.plan }).from(accounts).where(eq(accounts.id, id));
  return row?.plan;
}

/**
 * The account whose verified address `email` is (any case), not being deleted, or null (issue 32:
 * a request made without the account's key, its address shown to be the person's by an emailed
 * code, is about the account). An address nobody verified names no account.
 */
export async function accountByVerifiedEmail(db: Database, email: string): Promise<string | null> {
  const address = email.toLowerCase();
  const [row] = await db
    .select({ id: accounts.id })
    .from(accounts)
    .where(
      and(
        sql`lower(${accounts.email}) = ${address}`,
        sql`lower(${accounts.verifiedEmail}) = ${address}`,
        isNull(accounts.deletionPendingAt),
      ),
    )
    .limit(1);
  return row?.id ?? null;
}
