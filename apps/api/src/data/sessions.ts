/**
 * Sessions of the privacy centre (issue 17 item 4). A person pastes their API key once; the app
 * answers with a session cookie (`__Host-hf_session` in production: HttpOnly, Secure,
 * SameSite=Strict, catalogued essential), so the key never stays in the page. The token is 32
 * random bytes; only its SHA-256 is stored. The CSRF token is HMAC-SHA256(token, "csrf"): bound
 * to the session, stored nowhere, and worthless without the cookie. A session ends at sign-out, 12
 * hours after sign-in, after 30 minutes without a request, and when the account's deletion is
 * requested or one of its API keys is revoked (issue 30 item 11).
 */
import type { Database } from '@harakaflow/db';
import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { uuidv7 } from '@harakaflow/core';
import { accounts, sessions } from './schema.js';
import type { Account } from './accounts.js';

/** A session lasts this long from sign-in, whatever is done with it (absolute, not sliding). */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** A session also ends after this long without a request (issue 30 item 11: until then only the 12 hours did). */
export const SESSION_IDLE_MS = 30 * 60_000;
/**
 * A request writes the session's last use only when the stored one is this old: one write a
 * minute at most, and a session ends between 29 and 30 minutes after its last request, never later.
 */
const TOUCH_AFTER_MS = 60_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const hash = (token: string) => createHash('sha256').update(token).digest('hex');
export const csrfToken = (token: string) => createHmac('sha256', token).update('hf-privacy-csrf').digest('base64url');

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfValid(token: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length !== 43) return false;
  return timingSafeEqual(Buffer.from(csrfToken(token)), Buffer.from(presented));
}

export const sessionCookieName = (production: boolean) => (production ? '__Host-hf_session' : 'hf_session');

/**
 * The session cookie's attributes, set and cleared alike (a `__Host-` cookie is only cleared with the same Secure and
 * Path).
 */
export const sessionCookieOptions = (secure: boolean) => ({
  path: '/',
  httpOnly: true,
  sameSite: 'strict' as const,
  secure,
});

export async function createSession(
  db: Database,
  accountId: string,
  now = new Date(),
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await db.insert(sessions).values({
    id: uuidv7(now.getTime()),
    accountId,
    tokenHash: hash(token),
    createdAt: now,
    expiresAt,
    lastSeenAt: now,
  });
  return { token, expiresAt };
}

/**
 * The live session's account (not revoked, not expired, not idle for SESSION_IDLE_MS), or null. The request counts as a
 * use.
 */
export async function sessionAccount(db: Database, token: string, now = new Date()): Promise<Account | null> {
  if (!TOKEN.test(token)) return null;
  const [row] = await db
    .select({ account: accounts, id: sessions.id, lastSeenAt: sessions.lastSeenAt })
    .from(sessions)
    .innerJoin(accounts, eq(accounts.id, sessions.accountId))
    .where(
      and(
        eq(sessions.tokenHash, hash(token)),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now),
        gt(sessions.lastSeenAt, new Date(now.getTime() - SESSION_IDLE_MS)),
      ),
    )
    .limit(1);
  if (!row) return null;
  if (now.getTime() - row.lastSeenAt.getTime() >= TOUCH_AFTER_MS) {
    await db
      .update(sessions)
      .set({ lastSeenAt: now })
      .where(and(eq(sessions.id, row.id), lt(sessions.lastSeenAt, now)));
  }
  return row.account;
}

export async function revokeSession(db: Database, token: string): Promise<void> {
  if (!TOKEN.test(token)) return;
  await db
    .update(sessions)
    .set({ revokedAt: new Date() })
    .where(and(eq(sessions.tokenHash, hash(token)), isNull(sessions.revokedAt)));
}

/** Every session of an account (its deletion was requested, or one of its keys revoked). */
export async function revokeAccountSessions(db: Database, accountId: string): Promise<number> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: new Date() })
    .where(and(eq(sessions.accountId, accountId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length;
}
