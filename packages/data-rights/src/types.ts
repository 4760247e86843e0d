import type { PersonalDataHandler, SecurityEvent, SubjectHold, SubjectKind, SubjectRef } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { Article15Builder } from './article15.js';
import type { SigningKeys } from './signing.js';

/** The rights of policy §6, one kind of request each. */
export const REQUEST_KINDS = [
  'access',
  'portability',
  'correction',
  'deletion',
  'restriction',
  'objection',
  'withdraw_consent',
] as const;
/**
 * Every kind a request may have: those above, and `unclassified`, a request read from the privacy
 * mailbox whose text does not make its kind clear (issue 32): the admin classifies it. Nobody files one.
 */
export const ALL_REQUEST_KINDS = [...REQUEST_KINDS, 'unclassified'] as const;
export type RequestKind = (typeof ALL_REQUEST_KINDS)[number];
/** A kind a request can be filed (or classified) as. */
export type FilingKind = (typeof REQUEST_KINDS)[number];

/** After the Data Rights Protocol's states. */
export const REQUEST_STATUSES = ['open', 'in_progress', 'fulfilled', 'denied', 'canceled', 'expired'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** Who moved a request: the subject itself, an administrator, or the system (a job, a deadline). */
export type Actor = 'self' | 'admin' | 'system';

export interface HistoryEntry {
  status: RequestStatus;
  at: string;
  by: Actor;
  /** What happened besides the status: `extended`, `verified`, `purge-scheduled`... */
  event?: string | undefined;
  note?: string | undefined;
}

/** The legal holds that kept a handler's data through an erasure: which, on what class, and why. */
export type ReceiptHold = { id: string; class: string | null; reason: string };

/**
 * One handler's line of a receipt: what it erased, what it kept and why (`holds`: kept under a legal hold, erased when
 * released).
 */
export type ReceiptHandler = {
  name: string;
  erased: number;
  kept: number;
  keptReason?: string | undefined;
  holds?: ReceiptHold[] | undefined;
};

/** What an erasure did, per handler, signed with Ed25519 over its canonical JSON. */
export interface Receipt {
  requestId: string;
  subjectHash: string;
  completedAt: string;
  handlers: ReceiptHandler[];
  keyId: string;
  signature: string;
}

/** A request as the API shows it (public contract: issue 14 item 7). */
export interface RightsRequest {
  id: string;
  kind: RequestKind;
  status: RequestStatus;
  subject:
    | { kind: 'account'; accountId: string }
    | { kind: 'contact'; accountId: string; phone: string }
    | { kind: 'email'; email: string }
    | { kind: SubjectRef['kind']; erased: true };
  filedBy: 'self' | 'admin';
  verification: string | null;
  details: string | null;
  /** A phone number the requester gave (the public form), kept for its own verification (issue 32). */
  contact?: string | undefined;
  /** The language the requester asked in (issue 32 item 7), for the messages about the request; absent: none chosen. */
  lang?: string | undefined;
  receivedAt: string;
  dueAt: string;
  extendedDueAt?: string | undefined;
  extensionReason?: string | undefined;
  history: HistoryEntry[];
  /**
   * A live export: its one-time link (`url`) only in the account's own view (`get(id, accountId)`,
   * `list({ accountId })`); the admin's views show when it expires, never the link (`resendExport`).
   */
  export?: { url?: string | undefined; expiresAt: string } | undefined;
  /** Every field the signature covers (issue 30 item 8): verifiable with the published JWK set alone. */
  receipt?: Receipt | undefined;
}

export interface DataRightsConfig {
  db: Database;
  signingKeys: SigningKeys;
  /** HMAC key of subject hashes (at least 32 bytes). */
  subjectKey: Buffer;
  keyStore: ExportKeyStore;
  /** The handlers that hold data about a kind of subject, asked when needed (they register late). */
  handlers: (kind: SubjectKind) => readonly PersonalDataHandler[];
  /** A security event with sync durability (the audit log); it must reject when not recorded. */
  record: (event: SecurityEvent) => Promise<void>;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  dueDays: number;
  purgeAfterDays: number;
  exportTtlHours: number;
  /** Due-soon alert this many days before the due date. */
  dueSoonDays: number;
  /** An emailed request not verified within this many days expires. */
  verifyWithinDays: number;
  leaseMs: number;
  now: () => number;
  /**
   * Is the subject under a legal hold (§4) on all its data? Its purge then waits, re-checked hourly, until released.
   */
  isHeld?: ((ref: SubjectRef) => Promise<boolean>) | undefined;
  /**
   * The legal holds (§4) covering the subject. One on every class, or on `deleted_accounts`, keeps
   * all of it (the purge waits, as `isHeld`); one on a class keeps the data of the handlers whose
   * `retentionClasses` name it through the erasure: the rest is erased, the receipt lists what was
   * kept under which hold, and the kept data is erased once no hold covers it any more.
   */
  holdsOf?: ((ref: SubjectRef) => Promise<readonly SubjectHold[]>) | undefined;
  /** Does the account exist (a request about a missing account is refused)? */
  accountExists: (accountId: string) => Promise<boolean>;
  /** The account enters (true) or leaves (false) pending deletion: keys refused, endpoints paused. */
  onPendingDeletion?: ((accountId: string, pending: boolean) => Promise<void>) | undefined;
  /** Every state change of a request whose subject has an account (notification, webhook). */
  onUpdate?: ((request: RightsRequest, accountId: string) => Promise<void>) | undefined;
  /**
   * Every state change of a request with an address to tell (`replyTo`: an emailed request's
   * sender, an account's own address captured at its deletion). Called with the request's last
   * change too, after which the address is erased.
   */
  onRequesterUpdate?: ((request: RightsRequest, address: string) => Promise<void>) | undefined;
  /** The account's address, captured when its deletion is filed: the receipt goes there once the account is gone. */
  addressOf?: ((accountId: string) => Promise<string | null>) | undefined;
  /** An operator alert: `data_rights.request.due_soon` or `data_rights.request.overdue`. */
  onAlert?: ((alert: { action: string; request: RightsRequest }) => Promise<void>) | undefined;
  /** Withdraws consent for the account (the consent package's withdrawal); returns records written. */
  withdrawConsent?: ((accountId: string) => Promise<number>) | undefined;
  /** Builds each export's Article 15 statement (issue 32 item 5). */
  article15?: Article15Builder | undefined;
  /**
   * An account whose verified address this is (issue 32: a request made without the account's key is about it), or
   * null.
   */
  accountByEmail?: ((email: string) => Promise<string | null>) | undefined;
  /** Where received messages are kept sealed, by request (the vault in the app); without it, none is kept. */
  evidence?: EvidenceStore | undefined;
  /** Days a closed request is kept before the retention class `rights_requests` deletes it. */
  retainDays: number;
  /** Runs the jobs soon (the plugin's sweep); without it, due work waits for the next call. */
  kick?: (() => void) | undefined;
  /** A request was fulfilled, `ms` after it was received (the time-to-fulfil metric). */
  onFulfilled?: ((kind: RequestKind, ms: number) => void) | undefined;
}

/** Where data keys live: the vault in the app (`put`/`get`/`delete` of small values by name). */
export interface ExportKeyStore {
  put(name: string, value: Buffer): Promise<void>;
  get(name: string): Promise<Buffer | null>;
  delete(name: string): Promise<void>;
}

/** Received messages, sealed at rest (the credential vault in the app), by request; erased with it. */
export interface EvidenceStore {
  put(requestId: string, name: string, value: Buffer): Promise<void>;
  get(requestId: string, name: string): Promise<Buffer | null>;
  /** Every message kept for the request; resolves to how many went. */
  deleteAll(requestId: string): Promise<number>;
}

export interface FileInput {
  kind: RequestKind;
  subject: SubjectRef;
  filedBy: 'self' | 'admin';
  /** How the requester was verified; null for an emailed request still to verify (admin only). */
  verification: string | null;
  details?: string | null | undefined;
  /**
   * The address to tell of every step (an emailed request's sender); an email subject's own when
   * not given; false: nobody (a message a machine sent, or a sender past its daily answers).
   */
  replyTo?: string | false | null | undefined;
  /** A phone number the requester gave (E.164), kept on the request. */
  contact?: string | null | undefined;
  /**
   * The language the requester asked in, a BCP 47 tag (`sw`, `en`): the app writes the messages
   * about the request in it. Kept as given (lower case); this package does not read it.
   */
  lang?: string | null | undefined;
  /** The request's id (a UUID), when its intake chose it: filing it again answers the request filed. */
  id?: string | undefined;
  /** When it was received, when before now (the 30-day clock runs from receipt). */
  receivedAt?: Date | undefined;
  /** Tell nobody that it was received (its later changes are told as usual). */
  silent?: boolean | undefined;
  /**
   * A `withdraw_consent` of a consent the consent ledger does not hold (one given by email, say:
   * policy §5 "with your consent"): `withdrawConsent` is not called, the request waits for the admin
   * as an objection does. Only for a request verified when filed (issue 32 item 6).
   */
  manual?: boolean | undefined;
}

export interface ListFilter {
  accountId?: string | undefined;
  status?: RequestStatus | undefined;
  kind?: RequestKind | undefined;
  overdue?: boolean | undefined;
  dueBefore?: Date | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}
