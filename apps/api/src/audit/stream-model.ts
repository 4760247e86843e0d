// Audit streams' limits and timings, their options and rows, where their secrets live, and the view the API shows.
import type { Database } from '@harakaflow/db';
import type { DestinationPolicy } from '@harakaflow/webhooks';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { auditStreamSent, type auditStreams } from '../data/schema.js';

/** Streams an account (or the admin) may hold. */
export const MAX_STREAMS = 5;
/** Events a POST carries at most. */
export const STREAM_PAGE = 500;
/** Ids a deletion record names at most (a longer erasure is several records). */
export const IDS_PER_RECORD = 500;
/** Deletion ids a POST carries at most. */
export const DELETIONS_PER_POST = 2000;
/** How long a claimed stream is not claimed again: past a send's deadline (15 s) and its reads. */
export const LEASE_MS = 60_000;
export const SEND_TIMEOUT_MS = 15_000;
/** After a 2xx, 5 s, 30 s, 2 min, 10 min, 30 min, then every hour (with jitter): a stream never gives up. */
export const STREAM_RETRY_MS: readonly number[] = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000];
/** An erasure record whose events are still untagged after this was interrupted (a rerun records anew). */
export const ERASURE_WAIT_MS = 3_600_000;
/**
 * An erased account's stream: removed once the erasure records up to this after it were looked at, or after
 * ENDING_MAX_MS whatever happened.
 */
export const ENDING_GRACE_MS = 10 * 60_000;
export const ENDING_MAX_MS = 7 * 86_400_000;
/**
 * Where secrets live: the vault's namespace of their own, not under the account (the vault's erasure of an account must
 * not take an ending stream's secret).
 */
export const place = (streamId: string) => ({
  namespace: 'audit-streams',
  accountId: 'audit-streams',
  sessionId: 'streams',
  name: streamId,
});

export type StreamOwner = { kind: 'admin' } | { kind: 'account'; id: string };
export type AuditStream = typeof auditStreams.$inferSelect;

export interface AuditStreamsOptions {
  db: Database;
  policy: DestinationPolicy;
  /** Seconds between runs of the delivery job (0: none; `deliver()` by hand). */
  intervalSeconds: number;
  /** How old an event must be to be read (its batch committed): 15 s. */
  settleMs?: number | undefined;
  /** The server-log period (days): what the delivered-id log keeps. */
  retentionDays: number;
}

/** What the modules of audit streams work with: the app, the options and the database. */
export interface StreamContext {
  app: FastifyInstance;
  o: AuditStreamsOptions;
  db: Database;
}

/** The destination as shown and audited: no query string, no fragment (they can carry tokens). */
export const shownUrl = (url: string) => {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '';
  }
};
export const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
};

export const chunks = <T>(list: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

/** A stream as the API shows it: never its secret, its destination without a query string. */
export function streamView(s: AuditStream) {
  return {
    id: s.id,
    accountId: s.accountId,
    scope: s.accountId === null ? ('all' as const) : ('own' as const),
    url: shownUrl(s.url),
    format: s.format,
    status: s.status === 'ending' ? 'ending' : s.failingSince ? 'failing' : 'active',
    cursor: s.cursor,
    delivered: s.delivered,
    lastDeliveryAt: s.lastDeliveryAt?.toISOString() ?? null,
    lastAttemptAt: s.lastAttemptAt?.toISOString() ?? null,
    lastErrorStatus: s.lastErrorStatus,
    lastErrorCode: s.lastErrorCode,
    failingSince: s.failingSince?.toISOString() ?? null,
    failures: s.failingSince ? s.attempts : 0,
    nextAttemptAt: s.nextAttemptAt.toISOString(),
    createdAt: s.createdAt.toISOString(),
  };
}

/** A stream's delivered-id log and its secret go (its row deleted or being deleted). */
export async function forgetStream(ctx: StreamContext, id: string): Promise<void> {
  await ctx.db.delete(auditStreamSent).where(eq(auditStreamSent.streamId, id));
  await ctx.app.vault.delete(place(id));
}
