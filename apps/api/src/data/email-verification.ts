// Email verification of an account's address (issue 30 item 6): codes asked, issued, confirmed, and the accounts still
// to ask.
import type { Database } from '@harakaflow/db';
import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import { createHmac, randomInt } from 'node:crypto';
import { digestEquals } from './key-digests.js';
import { accounts, emailVerifications, type Account } from './schema-accounts.js';

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

/**
 * Accounts whose address is not verified and who were never asked to (created before verification existed, or by a
 * replica of that version): a page of them.
 */
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
