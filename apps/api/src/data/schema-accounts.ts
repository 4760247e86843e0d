// Tables of accounts and their credentials: accounts, email verifications, API keys, privacy-centre sessions.
import { sql } from 'drizzle-orm';
import { index, integer, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { app } from './schema-app.js';

export const accounts = app.table(
  'accounts',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    businessName: text('business_name'),
    /** The quota plan (free, pro, business). */
    plan: text('plan').notNull().default('free'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /**
     * Set while a deletion request waits for its purge (policy §6, §4): the account's keys reach
     * only its privacy requests. Cleared when the request is canceled.
     */
    deletionPendingAt: timestamp('deletion_pending_at', { withTimezone: true, mode: 'date' }),
    /**
     * The address the account showed to be its own (a code sent to it, issue 30 item 6), and when.
     * The account's address is verified while `email` is this (any case): a changed address is not.
     */
    verifiedEmail: text('verified_email'),
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true, mode: 'date' }),
  },
  // One account per address whatever its case: Alice@x.io and alice@x.io are one person.
  (t) => [uniqueIndex('accounts_email_key').on(sql`lower(${t.email})`)],
);

/** An account's row. */
export type Account = typeof accounts.$inferSelect;

/**
 * The email verification of an account in progress (issue 30 item 6): when it was last asked for
 * (one message a minute at most), and the code last sent, as an HMAC under a key derived from
 * DATA_RIGHTS_SUBJECT_KEY (the code itself is only in the message), with its expiry and the tries
 * left. Deleted once the address is verified, and with the account.
 */
export const emailVerifications = app.table('email_verifications', {
  accountId: uuid('account_id')
    .primaryKey()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  /** The address the code was sent to: it verifies that address only. */
  email: text('email').notNull(),
  codeHash: text('code_hash'),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  attempts: integer('attempts').notNull().default(0),
  requestedAt: timestamp('requested_at', { withTimezone: true, mode: 'date' }).notNull(),
});

/** API keys are kept only as SHA-256 digests: the key itself is shown once, at creation. */
export const apiKeys = app.table(
  'api_keys',
  {
    id: uuid('id').primaryKey(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    keyHash: text('key_hash').notNull(),
    /** The first characters of the key, to tell keys apart in a listing. Not enough to use it. */
    prefix: text('prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    /** The last request it authenticated, to the minute (issue 30 item 11: GET /v1/keys). */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [uniqueIndex('api_keys_key_hash_key').on(t.keyHash), index('api_keys_account_id_idx').on(t.accountId)],
);

/**
 * Sessions of the privacy centre (`/privacy`): a person pastes their API key once and gets a
 * session cookie instead. Only the SHA-256 of the session token is kept; the CSRF token is derived
 * from the token itself (HMAC), so it is bound to the session and stored nowhere. Revoked at
 * sign-out and when the account's deletion is requested; gone with the account.
 */
export const sessions = app.table(
  'sessions',
  {
    id: uuid('id').primaryKey(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    /** Its last request, to the minute: 30 minutes idle end it (issue 30 item 11). */
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('sessions_token_hash_key').on(t.tokenHash), index('sessions_account_id_idx').on(t.accountId)],
);
