import type { SubjectRef } from '@harakaflow/core';

/** The rights of policy §6, one kind of request each. */
export const REQUEST_KINDS = ['access', 'portability', 'correction', 'deletion', 'restriction', 'objection', 'withdraw_consent'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

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

/** What an erasure did, per handler, signed with Ed25519 over its canonical JSON. */
export interface Receipt {
  requestId: string;
  subjectHash: string;
  completedAt: string;
  handlers: { name: string; erased: number; kept: number; keptReason?: string | undefined }[];
  keyId: string;
  signature: string;
}

/** A request as the API shows it (public contract: issue 14 item 7). */
export interface RightsRequest {
  id: string;
  kind: RequestKind;
  status: RequestStatus;
  subject: { kind: 'account'; accountId: string } | { kind: 'contact'; accountId: string; phone: string } | { kind: 'email'; email: string } | { kind: SubjectRef['kind']; erased: true };
  filedBy: 'self' | 'admin';
  verification: string | null;
  details: string | null;
  receivedAt: string;
  dueAt: string;
  extendedDueAt?: string | undefined;
  extensionReason?: string | undefined;
  history: HistoryEntry[];
  export?: { url: string; expiresAt: string } | undefined;
  receipt?: { handlers: { name: string; erased: number; kept: number; keptReason?: string | undefined }[]; signature: string; keyId: string; completedAt: string } | undefined;
}
