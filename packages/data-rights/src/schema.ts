import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { FilingKind, HistoryEntry, Receipt, RequestKind, RequestStatus } from './types.js';

export const dataRights = pgSchema('data_rights');

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

/**
 * Every rights request, after the Data Rights Protocol's states. The subject's identifiers (account
 * id, phone, email) are here until a deletion is carried out; then only `subject_hash` (a keyed
 * hash: enough to prove the request was answered, nothing to re-identify) stays.
 */
export const requests = dataRights.table(
  'requests',
  {
    id: uuid('id').primaryKey(),
    kind: text('kind').$type<RequestKind>().notNull(),
    status: text('status').$type<RequestStatus>().notNull(),
    /** account | contact | email */
    subjectKind: text('subject_kind').$type<'account' | 'contact' | 'email'>().notNull(),
    accountId: uuid('account_id'),
    phone: text('phone'),
    email: text('email'),
    subjectHash: text('subject_hash').notNull(),
    /**
     * The address told of every step besides the account (issue 30 items 8 and 9): the one an
     * emailed request came from, or an account's own, captured when its deletion is filed so the
     * receipt reaches it after the account is gone. Erased once the request's last message is queued.
     */
    replyTo: text('reply_to'),
    /**
     * A phone number the requester gave (the public form, issue 32): kept for its own verification; erased with the
     * identifiers.
     */
    contact: text('contact'),
    /**
     * The language the requester asked in (issue 32 item 7: a BCP 47 tag such as `sw`, from the
     * form's or the page's Accept-Language or switch), for the messages about the request; null
     * (requests of earlier versions too): none chosen.
     */
    lang: text('lang'),
    /** self | admin (filed for an emailed request to privacy@) */
    filedBy: text('filed_by').$type<'self' | 'admin'>().notNull(),
    /**
     * How the requester was verified: `api-key` for a request made with the account's key. Null: awaiting verification.
     */
    verification: text('verification'),
    details: text('details'),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull(),
    dueAt: timestamp('due_at', { withTimezone: true, mode: 'date' }).notNull(),
    extendedDueAt: timestamp('extended_due_at', { withTimezone: true, mode: 'date' }),
    extensionReason: text('extension_reason'),
    history: jsonb('history').$type<HistoryEntry[]>().notNull(),
    receipt: jsonb('receipt').$type<Receipt>(),
    /** When the due-soon and overdue alerts were raised: each exactly once across replicas. */
    dueSoonAlertedAt: timestamp('due_soon_alerted_at', { withTimezone: true, mode: 'date' }),
    overdueAlertedAt: timestamp('overdue_alerted_at', { withTimezone: true, mode: 'date' }),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    index('requests_account_idx').on(t.accountId, t.id),
    index('requests_open_due_idx')
      .on(t.dueAt)
      .where(sql`${t.status} in ('open', 'in_progress')`),
    index('requests_status_idx').on(t.status, t.id),
  ],
);

/**
 * One erasure job per deletion (an account's, a contact's, or a minor's): progress per handler in
 * the database, so a crash or another replica resumes where it stopped. Claimed atomically
 * (`FOR UPDATE SKIP LOCKED` with a lease).
 */
export const erasureJobs = dataRights.table(
  'erasure_jobs',
  {
    requestId: uuid('request_id').primaryKey(),
    /** pending | running | done */
    status: text('status').$type<'pending' | 'running' | 'done'>().notNull(),
    dueAt: timestamp('due_at', { withTimezone: true, mode: 'date' }).notNull(),
    leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
    attempts: integer('attempts').notNull().default(0),
    /** handler name → what it erased and kept, written as each handler finishes. */
    progress: jsonb('progress')
      .$type<
        Record<
          string,
          {
            erased: number;
            kept: { count: number; reason: string }[];
            holds?: { id: string; class: string | null; reason: string }[] | undefined;
          }
        >
      >()
      .notNull(),
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('erasure_jobs_due_idx')
      .on(t.dueAt)
      .where(sql`${t.status} <> 'done'`),
  ],
);

/**
 * What an erasure kept under a legal hold (§4): one row per request and handler whose data a hold
 * on one of its retention classes covered. The subject's identifiers stay here (and only here)
 * until every hold covering it is released; then the handler erases it, the row goes, and the
 * request's history and the audit log say so. Claimed with a lease, like erasure jobs.
 */
export const heldErasures = dataRights.table(
  'held_erasures',
  {
    requestId: uuid('request_id').notNull(),
    handler: text('handler').notNull(),
    subjectKind: text('subject_kind').$type<'account' | 'contact' | 'email'>().notNull(),
    accountId: uuid('account_id'),
    phone: text('phone'),
    email: text('email'),
    /** The holds that kept it when the erasure ran: id, class, reason (the receipt's). */
    holds: jsonb('holds').$type<{ id: string; class: string | null; reason: string }[]>().notNull(),
    since: timestamp('since', { withTimezone: true, mode: 'date' }).notNull(),
    leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
  },
  (t) => [primaryKey({ columns: [t.requestId, t.handler] })],
);

/** Subjects whose processing is restricted (policy §6): messages refused, analytics off. */
export const restrictions = dataRights.table('restrictions', {
  accountId: uuid('account_id').primaryKey(),
  requestId: uuid('request_id').notNull(),
  since: timestamp('since', { withTimezone: true, mode: 'date' }).notNull(),
});

/**
 * The erasure journal: the keyed hash of every erased subject's identifiers, and which handlers
 * erased it. After a backup is restored, `hf-rights reapply-erasures` finds the restored subjects
 * whose hash is here and erases them again.
 */
export const journal = dataRights.table('erasure_journal', {
  requestId: uuid('request_id').primaryKey(),
  subjectKind: text('subject_kind').notNull(),
  subjectHash: text('subject_hash').notNull(),
  erasedAt: timestamp('erased_at', { withTimezone: true, mode: 'date' }).notNull(),
});

/**
 * Export bundles, encrypted at rest: AES-256-GCM chunks under a data key the caller's key store
 * keeps (the vault, in the app), deleted with the key after the one download or at expiry.
 */
export const exportsTable = dataRights.table('exports', {
  id: uuid('id').primaryKey(),
  requestId: uuid('request_id').notNull(),
  /** SHA-256 of the one-time token: the token itself is never stored. */
  tokenHash: text('token_hash').notNull().unique(),
  size: bigint('size', { mode: 'number' }).notNull(),
  chunks: integer('chunks').notNull(),
  /** Where each part and the manifest lie in the document (the zip's entries); null in exports made before it. */
  layout: jsonb('layout').$type<{ name: string; start: number; end: number }[]>(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  downloadedAt: timestamp('downloaded_at', { withTimezone: true, mode: 'date' }),
});

export const exportChunks = dataRights.table(
  'export_chunks',
  {
    exportId: uuid('export_id')
      .notNull()
      .references(() => exportsTable.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    /** 12-byte IV, ciphertext, 16-byte tag. */
    sealed: bytea('sealed').notNull(),
  },
  (t) => [primaryKey({ columns: [t.exportId, t.seq] })],
);

/**
 * Requests made without an API key, waiting for the code emailed to their address (issue 32): a
 * form's request before its code is entered (`pending`: what it asks), or a request read from the
 * privacy mailbox (`pending` null: the request exists, unverified). The code is kept as an HMAC,
 * works 10 minutes and 5 tries; a row goes once its request is verified, and expires with the
 * request's verification window (`verifyWithinDays`). `verified_at`: claimed by the code that
 * verified it, so a crash before the request is filed or verified is finished by the next sweep.
 */
export const verifications = dataRights.table(
  'verifications',
  {
    requestId: uuid('request_id').primaryKey(),
    address: text('address').notNull(),
    /** `lang`: the language the form was filled in (absent in rows of earlier versions: none). */
    pending: jsonb('pending').$type<{
      kind: FilingKind;
      contact: string | null;
      details: string | null;
      lang?: string | null;
    }>(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull(),
    codeHash: text('code_hash'),
    codeExpiresAt: timestamp('code_expires_at', { withTimezone: true, mode: 'date' }),
    attempts: integer('attempts').notNull().default(0),
    codesSent: integer('codes_sent').notNull().default(0),
    verifiedAt: timestamp('verified_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('verifications_received_idx').on(t.receivedAt)],
);

/**
 * The messages of a request's thread (issue 32): those read from the privacy mailbox (`in`: its
 * mailbox key `source`, once each; the raw message sealed in the evidence store) and the
 * notifications sent about it (`out`), by Message-ID, so that a reply in the thread joins its
 * request. A message no request could be opened for (no sender address) has `request_id` null.
 */
export const messages = dataRights.table(
  'messages',
  {
    id: uuid('id').primaryKey(),
    requestId: uuid('request_id'),
    direction: text('direction').$type<'in' | 'out'>().notNull(),
    /** Message-ID, lower-cased, without angle brackets. */
    messageId: text('message_id'),
    /** An inbound message's mailbox key (`name:uidvalidity:uid`). */
    source: text('source'),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    size: integer('size'),
    /** Why its sender was not answered (an automatic message, the daily limit), or null. */
    unanswered: text('unanswered'),
    /** Its raw copy is in the evidence store. */
    sealed: boolean('sealed').notNull().default(false),
  },
  (t) => [
    uniqueIndex('messages_source_idx').on(t.source),
    index('messages_message_id_idx').on(t.messageId),
    index('messages_request_idx').on(t.requestId),
  ],
);
