import type { PersonalDataHandler, SubjectRef } from '@harakaflow/core';
import { isUniqueViolation, resultRows, type Database } from '@harakaflow/db';
import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { createHmac, hash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { AccountExists } from '../http/errors.js';
import { accounts, apiKeys, emailVerifications, messageLog, notifications } from './schema.js';

export type Account = typeof accounts.$inferSelect;

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

export interface PublicAccount {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  /** Has the account shown `email` to be its own (a code sent there)? Until then only a few kinds of message go to it. */
  readonly emailVerified: boolean;
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
      emailVerified: emailVerified(account),
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
        .select({
          kind: notifications.kind,
          payload: notifications.payload,
          createdAt: notifications.createdAt,
          sentAt: notifications.sentAt,
        })
        .from(notifications)
        .where(eq(notifications.accountId, subjectId));
      if (!account) return { account: null, apiKeys: [], notifications: sent };
      const keys = await db
        .select({
          prefix: apiKeys.prefix,
          createdAt: apiKeys.createdAt,
          revokedAt: apiKeys.revokedAt,
          lastUsedAt: apiKeys.lastUsedAt,
        })
        .from(apiKeys)
        .where(eq(apiKeys.accountId, subjectId));
      return {
        account: { ...publicAccount(account), plan: account.plan, emailVerifiedAt: account.emailVerifiedAt },
        apiKeys: keys,
        notifications: sent,
      };
    },
    async eraseSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      // API keys go with the account (ON DELETE CASCADE).
      const sent = await db
        .delete(notifications)
        .where(eq(notifications.accountId, subjectId))
        .returning({ id: notifications.id });
      const deleted = await db.delete(accounts).where(eq(accounts.id, subjectId)).returning({ id: accounts.id });
      return { erased: deleted.length + sent.length };
    },
  };
}

// Email verification (issue 30 item 6). Until an account shows that its address is its own, that
// address gets only the verification message, security notices and §11 policy notices (notify's
// `addressVerified`): signing up with someone else's address sends them nothing the account wrote.

/** A code works for 24 hours and 5 tries; a new one can be asked for once a minute. */
export const EMAIL_CODE_TTL_MS = 24 * 3_600_000;
export const EMAIL_CODE_TRIES = 5;
export const EMAIL_CODE_RESEND_MS = 60_000;
// Crockford's base32 (no I, L, O, U): 8 characters are 40 bits.
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Is the account's address the one it verified (any case)? */
export function emailVerified(account: Pick<Account, 'email' | 'verifiedEmail'>): boolean {
  return (
    typeof account.verifiedEmail === 'string' && account.verifiedEmail.toLowerCase() === account.email.toLowerCase()
  );
}

/** The HMAC key of verification codes, derived from a server secret (the secret itself signs nothing here). */
export function verificationCodeKey(secret: string | Buffer): Buffer {
  return createHmac('sha256', secret).update('harakaflow email verification codes').digest();
}

const codeDigest = (key: Buffer, accountId: string, code: string) =>
  createHmac('sha256', key).update(`${accountId}:${code}`).digest();

/** A code as typed: case, spaces and dashes ignored; O read as 0, I and L as 1 (Crockford's base32). */
export function normalizeCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

const iso = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/**
 * Records that a verification message is asked for the account (signup, the re-send route, the
 * job that asks existing accounts), at most once a minute: when (the message's dedupe key), or how
 * long until it may be asked again.
 */
export async function askForVerification(
  db: Database,
  account: Pick<Account, 'id' | 'email'>,
  now: Date,
): Promise<{ requestedAt: Date } | { retryAfterMs: number }> {
  const [asked] = await db
    .insert(emailVerifications)
    .values({ accountId: account.id, email: account.email, requestedAt: now })
    .onConflictDoUpdate({
      target: emailVerifications.accountId,
      set: { email: account.email, requestedAt: now },
      setWhere: sql`${emailVerifications.requestedAt} <= ${iso(new Date(now.getTime() - EMAIL_CODE_RESEND_MS))}`,
    })
    .returning({ requestedAt: emailVerifications.requestedAt });
  if (asked) return { requestedAt: asked.requestedAt };
  const [last] = await db
    .select({ requestedAt: emailVerifications.requestedAt })
    .from(emailVerifications)
    .where(eq(emailVerifications.accountId, account.id));
  return {
    retryAfterMs: Math.max(1000, (last?.requestedAt.getTime() ?? now.getTime()) + EMAIL_CODE_RESEND_MS - now.getTime()),
  };
}

/**
 * A new code for the account's address, made when its message is sent (so the code is in the
 * message only, never in the outbox); the previous code stops working. Null when there is nothing
 * to verify any more (verified meanwhile, or the account gone).
 */
export async function issueVerificationCode(
  db: Database,
  key: Buffer,
  accountId: string,
  now: Date,
): Promise<{ code: string; expiresAt: Date } | null> {
  const [account] = await db
    .select({ email: accounts.email, verifiedEmail: accounts.verifiedEmail })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  if (!account || emailVerified(account)) return null;
  let code = '';
  for (let i = 0; i < 8; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  const expiresAt = new Date(now.getTime() + EMAIL_CODE_TTL_MS);
  const set = {
    email: account.email,
    codeHash: codeDigest(key, accountId, code).toString('base64url'),
    expiresAt,
    attempts: 0,
  };
  await db
    .insert(emailVerifications)
    .values({ accountId, requestedAt: now, ...set })
    .onConflictDoUpdate({ target: emailVerifications.accountId, set });
  return { code: `${code.slice(0, 4)}-${code.slice(4)}`, expiresAt };
}

/**
 * Checks a code typed by the account: `verified` (its address is verified now), `already`, or
 * `invalid` (wrong, expired, out of tries, or the address changed since it was sent). A try is
 * counted before the comparison, in the statement that checks the tries left and the expiry, so
 * concurrent guesses get no more than EMAIL_CODE_TRIES between them.
 */
export async function confirmEmail(
  db: Database,
  key: Buffer,
  accountId: string,
  input: string,
  now: Date,
): Promise<'verified' | 'already' | 'invalid'> {
  const [account] = await db
    .select({ email: accounts.email, verifiedEmail: accounts.verifiedEmail })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  if (!account) return 'invalid';
  if (emailVerified(account)) return 'already';
  const [pending] = await db
    .update(emailVerifications)
    .set({ attempts: sql`${emailVerifications.attempts} + 1` })
    .where(
      and(
        eq(emailVerifications.accountId, accountId),
        sql`${emailVerifications.codeHash} is not null`,
        sql`${emailVerifications.attempts} < ${EMAIL_CODE_TRIES}`,
        sql`${emailVerifications.expiresAt} > ${iso(now)}`,
      ),
    )
    .returning();
  if (!pending) return 'invalid';
  if (!digestEquals(Buffer.from(pending.codeHash!, 'base64url'), codeDigest(key, accountId, normalizeCode(input))))
    return 'invalid';
  return db.transaction(async (tx) => {
    const [done] = await tx
      .update(accounts)
      .set({ verifiedEmail: pending.email, emailVerifiedAt: now })
      .where(and(eq(accounts.id, accountId), sql`lower(${accounts.email}) = lower(${pending.email})`))
      .returning({ id: accounts.id });
    if (!done) return 'invalid' as const;
    await tx.delete(emailVerifications).where(eq(emailVerifications.accountId, accountId));
    return 'verified' as const;
  });
}

/** Accounts whose address is not verified and who were never asked to (created before verification existed, or by a replica of that version): a page of them. */
export async function accountsToAsk(db: Database, limit = 500): Promise<Pick<Account, 'id' | 'email'>[]> {
  return db
    .select({ id: accounts.id, email: accounts.email })
    .from(accounts)
    .leftJoin(emailVerifications, eq(emailVerifications.accountId, accounts.id))
    .where(
      and(
        isNull(emailVerifications.accountId),
        isNull(accounts.deletionPendingAt),
        or(isNull(accounts.verifiedEmail), sql`lower(${accounts.verifiedEmail}) <> lower(${accounts.email})`),
      ),
    )
    .orderBy(asc(accounts.id))
    .limit(limit);
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
    ref.kind === 'contact'
      ? and(eq(messageLog.accountId, ref.accountId), eq(messageLog.to, ref.phone))
      : eq(messageLog.accountId, (ref as { accountId: string }).accountId);
  return {
    name: 'messages',
    identifiers: ['account', 'contact'],
    // A legal hold on the subject for this class keeps these rows through an erasure (issue 30 item 2).
    retentionClasses: ['message_logs'],
    async *exportSubject(ref) {
      // The cursor keeps created_at at the database's microsecond precision (a JS Date has ms: the
      // last row of a page would come again on the next one).
      let after: { at: string; id: string } | undefined;
      for (;;) {
        const page = await db
          .select({
            id: messageLog.id,
            sessionId: messageLog.sessionId,
            to: messageLog.to,
            chars: messageLog.chars,
            createdAt: messageLog.createdAt,
            at: sql<string>`${messageLog.createdAt}::text`,
          })
          .from(messageLog)
          // `created_at >= last` first, so each page is a range scan of the (account_id, created_at)
          // index from where the last one stopped, not a scan from the start.
          .where(
            after
              ? and(
                  scope(ref),
                  sql`${messageLog.createdAt} >= ${after.at}::timestamptz`,
                  or(sql`${messageLog.createdAt} > ${after.at}::timestamptz`, gt(messageLog.id, after.id)),
                )
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
      const [row] = resultRows<{ n: number }>(
        await db.execute(
          sql`with gone as (delete from ${messageLog} where ${scope(ref)} returning 1) select count(*)::int as n from gone`,
        ),
      );
      return { erased: Number(row?.n ?? 0) };
    },
  };
}
