// The audit event's shapes: what a caller hands in (AuditEventInput) and a stored row (AuditEvent).
// A leaf module: the chain formats (event.ts, format3*.ts) import it without importing each other.

export type DeviceType = 'desktop' | 'mobile' | 'tablet' | 'bot' | 'unknown';

/** What a caller or the access hook hands in; the writer adds id, time and chain fields. */
export interface AuditEventInput {
  kind: 'access' | 'security';
  action: string;
  resource?: string | null | undefined;
  outcome?: string | null | undefined;
  requestId?: string | null | undefined;
  method?: string | null | undefined;
  route?: string | null | undefined;
  path?: string | null | undefined;
  status?: number | null | undefined;
  durationMs?: number | null | undefined;
  subjectId?: string | null | undefined;
  ip?: string | null | undefined;
  ipInvalid?: boolean | undefined;
  userAgent?: string | null | undefined;
  browserName?: string | null | undefined;
  browserVersion?: string | null | undefined;
  osName?: string | null | undefined;
  osVersion?: string | null | undefined;
  deviceType?: DeviceType | null | undefined;
  details?: unknown;
}

/** A stored event: every column of `audit.events`. */
export interface AuditEvent {
  id: string;
  occurredAt: Date;
  writer: string;
  day: string;
  seq: number;
  kind: string;
  action: string;
  resource: string | null;
  outcome: string | null;
  requestId: string | null;
  method: string | null;
  route: string | null;
  path: string | null;
  status: number | null;
  durationMs: number | null;
  subjectId: string | null;
  ip: string | null;
  ipInvalid: boolean;
  userAgent: string | null;
  browserName: string | null;
  browserVersion: string | null;
  osName: string | null;
  osVersion: string | null;
  deviceType: string | null;
  details: unknown;
  /** Version 1 and 2: base64 text; version 3: 16 bytes in hex. */
  personalSalt: string | null;
  /** Hex. Version 3 rows store it only once erased ('' when read from a row that does not). */
  personalDigest: string;
  /** Hex. Version 3 rows store it only on a segment's first event ('' when read from a row that does not). */
  prevHash: string;
  hash: string;
  erasedAt: Date | null;
  /** The chain format of this event (1, 2 or 3). */
  chainVersion: number;
  /** The erasure that removed its personal fields: the `erasureId` of an `audit.subject.erased` event. */
  erasedBy: string | null;
}
