/** The shapes of the notify package's public API. */
export type NotificationStatus = 'pending' | 'sent' | 'failed' | 'suppressed';

export interface Recipient {
  address: string;
  name?: string | null | undefined;
  businessName?: string | null | undefined;
  /** The language the account chose for its messages (one of LANGUAGES), if it did: a message queued without one is written in it. */
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
