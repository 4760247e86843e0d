/** The shapes of the notify package's public API: a leaf module, which every other module may import. */
import type { SigningKey } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { Transport } from './transport.js';

export type NotificationStatus = 'pending' | 'sent' | 'failed' | 'suppressed';

export interface Recipient {
  address: string;
  name?: string | null | undefined;
  businessName?: string | null | undefined;
  /**
   * The language the account chose for its messages (one of LANGUAGES), if it did: a message queued without one is
   * written in it.
   */
  lang?: string | null | undefined;
}

export interface PolicyVersion {
  version: string;
  publishedAt: Date | string;
  effectiveAt: Date | string;
  material: boolean;
}

export interface NotificationView {
  id: string;
  kind: string;
  accountId: string | null;
  address: string | null;
  status: NotificationStatus;
  attempts: number;
  createdAt: string;
  nextAttemptAt: string | null;
  settledAt: string | null;
  providerMessageId: string | null;
  lastError: string | null;
}

export interface NotifierConfig {
  db: Database;
  transport: Transport;
  /** The From address: `HarakaFlow <no-reply@harakaflow.com>`. Its domain ends every Message-ID. */
  from: string;
  /** Where links in messages point (unsubscribe): `https://api.harakaflow.com`. */
  publicUrl: string;
  /** HMAC keys of unsubscribe links: the first signs, all verify. */
  unsubscribeKeys: SigningKey[];
  /** The address messages sign off with (`{{privacyContact}}`); default DEFAULT_PRIVACY_CONTACT. */
  privacyContact?: string | undefined;
  /** The Reply-To of every message (the app: the privacy mailbox, where an answer joins its request); unset: none. */
  replyTo?: string | undefined;
  /** An account's address and names, or null (no such account: nothing is queued). */
  recipientOf?: ((accountId: string) => Promise<Recipient | null>) | undefined;
  /**
   * More template data at send time (links and codes that must not sit in the outbox, such as an
   * export's link or a verification code); `false`: nothing to send any more (suppressed).
   */
  enrich?:
    | ((row: {
        kind: string;
        accountId: string | null;
        data: Record<string, unknown>;
      }) => Promise<Record<string, unknown> | null | false>)
    | undefined;
  /**
   * Is this the account's verified address? Asked at send time for every message to an account.
   * Unset: every address counts as verified. A message to an address given without an account
   * (`to`: an emailed requester, whom the operator answers) is not asked about.
   */
  addressVerified?: ((accountId: string, address: string) => Promise<boolean>) | undefined;
  schedule?: readonly number[] | undefined;
  /** How long a claimed row is not due again: past the longest a send can take. Default 120 s. */
  leaseMs?: number | undefined;
  now?: (() => number) | undefined;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** A row was queued: the plugin runs a batch soon rather than at the next interval. */
  onQueued?: (() => void) | undefined;
  /**
   * A report read from the bounce mailbox that returns no message may name its recipient instead:
   * it then counts for the last message sent to that address within this many days. 0: only
   * reports that name a message (its Message-ID, or the kit's id header) count. Default 7.
   */
  reportRecipientDays?: number | undefined;
}

export interface EnqueueInput {
  kind: string;
  accountId?: string | undefined;
  /** The address, when there is no account (an emailed request) or it is not the account's. */
  to?: string | undefined;
  data?: Record<string, unknown> | undefined;
  /** At most one row per key, across replicas and restarts. */
  dedupeKey?: string | undefined;
  /**
   * Delete the row once it is settled (sent or given up): a message to an address kept for it alone (an erasure
   * receipt).
   */
  eraseAfterSend?: boolean | undefined;
  /**
   * The language to write it in (one of LANGUAGES: the one the person chose where they asked, e.g.
   * a request's). Unset: the recipient's (`recipientOf`'s `lang`), else English. A code without a
   * catalogue counts as unset.
   */
  lang?: string | null | undefined;
}
