// Tables of contacts' rights requests by phone number and their forwards to accounts (issue 32 item 3).
import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { accounts } from './schema-accounts.js';
import { app } from './schema-app.js';

/**
 * A rights request about a phone number (issue 32 item 3), made with the public form: the number
 * is proved to be the requester's by a code sent from it over WhatsApp to the service's privacy
 * number (the inbound Meta webhook matches it), then the request is passed to every account whose
 * data holds the number (`forwarded_requests`). `request_id` is the data-rights request the form
 * opened; `address` is where the person hears each step (kept here: that request's own address goes
 * once it is final). The code is kept as an HMAC, with its expiry (30 minutes).
 */
export const contactRequests = app.table(
  'contact_requests',
  {
    requestId: uuid('request_id').primaryKey(),
    /** The number, E.164. */
    phone: text('phone').notNull(),
    /** The requester's address; erased with the row. */
    address: text('address').notNull(),
    /** What is asked (a data-rights request kind). */
    kind: text('kind').notNull(),
    /** The language the person asked in (`en`, `sw`); null: English. */
    lang: text('lang'),
    codeHash: text('code_hash'),
    codeExpiresAt: timestamp('code_expires_at', { withTimezone: true, mode: 'date' }),
    /** When the number was proved (the code came from it): forwarded then. */
    provedAt: timestamp('proved_at', { withTimezone: true, mode: 'date' }),
    /** How many accounts it was passed to, once forwarded. */
    forwarded: integer('forwarded'),
    /** When the person was told how many (the message queued). */
    toldAt: timestamp('told_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('contact_requests_phone_idx')
      .on(t.phone)
      .where(sql`${t.provedAt} is null`),
    index('contact_requests_created_idx').on(t.createdAt),
  ],
);

/**
 * A contact's request passed to one account that holds the number (issue 32 item 3): it answers
 * through the API (fulfil with a note, deny with a reason, or erase: the service erases the
 * contact from the account's data and the receipt goes to the person) by its own due date; the
 * admin is alerted when it is due soon and when it is overdue, once each across replicas.
 */
export const forwardedRequests = app.table(
  'forwarded_requests',
  {
    id: uuid('id').primaryKey(),
    requestId: uuid('request_id')
      .notNull()
      .references(() => contactRequests.requestId, { onDelete: 'cascade' }),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    phone: text('phone').notNull(),
    kind: text('kind').notNull(),
    /** open | erasing | fulfilled | denied | erased */
    status: text('status').$type<'open' | 'erasing' | 'fulfilled' | 'denied' | 'erased'>().notNull(),
    dueAt: timestamp('due_at', { withTimezone: true, mode: 'date' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    answeredAt: timestamp('answered_at', { withTimezone: true, mode: 'date' }),
    /** The account's note (fulfilled) or reason (denied), relayed to the person as plain text. */
    note: text('note'),
    /** The account lets the person know its business name. */
    disclose: boolean('disclose').notNull().default(false),
    /** The data-rights deletion that erases the contact (erase), and its signed receipt once done. */
    erasureRequestId: uuid('erasure_request_id'),
    receipt: jsonb('receipt'),
    /** When the account's email was queued (its webhook is written with the row). */
    accountToldAt: timestamp('account_told_at', { withTimezone: true, mode: 'date' }),
    /** When the person's message about the outcome was queued. */
    personToldAt: timestamp('person_told_at', { withTimezone: true, mode: 'date' }),
    dueSoonAlertedAt: timestamp('due_soon_alerted_at', { withTimezone: true, mode: 'date' }),
    overdueAlertedAt: timestamp('overdue_alerted_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('forwarded_requests_request_account_key').on(t.requestId, t.accountId),
    index('forwarded_requests_account_idx').on(t.accountId, t.id),
    index('forwarded_requests_open_idx')
      .on(t.dueAt)
      .where(sql`${t.status} in ('open', 'erasing')`),
    index('forwarded_requests_erasure_idx').on(t.erasureRequestId),
  ],
);
