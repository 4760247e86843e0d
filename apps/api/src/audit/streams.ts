/**
 * Audit streams (issue 33 item 5): an account's trail, or every event for the admin, sent to an
 * HTTPS destination (the customer's SIEM) as JSON lines in OCSF or ECS (audit-stream-format.ts),
 * signed like webhook deliveries (Standard Webhooks, a whsec_ secret kept in the vault).
 *
 * At least once, through the stream row as its own outbox: a job claims due streams (FOR UPDATE
 * SKIP LOCKED, then a lease in `next_attempt_at`, so one replica sends a stream at a time; each
 * stream leased anew and read anew when its turn comes, only if the lease is still the claim's, and
 * its cursors written after the POST only while that lease holds), reads
 * the next page after the stream's cursor from the audit log at that moment (an event erased
 * before it goes out goes out erased), POSTs it, and moves the cursor only on a 2xx; a failure is
 * retried with backoff, the same page read again. Events are read only once older than `settleMs`
 * (ids are made as batches are chained, and a batch commits within seconds), so a batch committed
 * late does not fall behind a cursor that already passed it.
 *
 * Erasure: every event delivered with a subject is remembered before its POST (`app.audit_stream_sent`, pruned
 * with the server-log period). Each erasure record (`audit.subject.erased`, with its erasure id and
 * id range) is looked at once it has been applied (its first event carries its id): the delivered
 * events it erased are named in a deletion record, sent before the stream's next events, and
 * forgotten once it is delivered. An account erased as a whole leaves its streams `ending`: only
 * deletion records go, then they are removed.
 */
import { auditEvents, ERASURE_ACTION, eventsAfter, uuidv7Floor, type AuditEvent } from '@harakaflow/audit';
import { errorCodes, registerPersonalDataHandler, securityEvent, type SubjectRef } from '@harakaflow/core';
import { retryDelay, type Database } from '@harakaflow/db';
import {
  checkResolved,
  checkUrl,
  generateSecret,
  send,
  signWebhook,
  type DestinationPolicy,
} from '@harakaflow/webhooks';
import { and, asc, count, eq, gte, inArray, isNull, lt, lte, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { createHash, randomUUID } from 'node:crypto';
import { ndjson, type DeletionRecord, type StreamFormat } from './stream-format.js';
import { AuditStreamInvalidFrom, AuditStreamInvalidUrl, AuditStreamLimit } from '../http/errors.js';
import { everyInterval } from '../wiring/jobs.js';
import { OPERATOR_ONLY_ACTIONS } from '../routes/audit/audit.js';
import { auditStreamSent, auditStreams } from '../data/schema.js';

/** Streams an account (or the admin) may hold. */
export const MAX_STREAMS = 5;
/** Events a POST carries at most. */
export const STREAM_PAGE = 500;
/** Ids a deletion record names at most (a longer erasure is several records). */
const IDS_PER_RECORD = 500;
/** Deletion ids a POST carries at most. */
const DELETIONS_PER_POST = 2000;
/** How long a claimed stream is not claimed again: past a send's deadline (15 s) and its reads. */
const LEASE_MS = 60_000;
const SEND_TIMEOUT_MS = 15_000;
/** After a 2xx, 5 s, 30 s, 2 min, 10 min, 30 min, then every hour (with jitter): a stream never gives up. */
export const STREAM_RETRY_MS: readonly number[] = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000];
/** An erasure record whose events are still untagged after this was interrupted (a rerun records anew). */
const ERASURE_WAIT_MS = 3_600_000;
/** An erased account's stream: removed once the erasure records up to this after it were looked at, or after ENDING_MAX_MS whatever happened. */
const ENDING_GRACE_MS = 10 * 60_000;
const ENDING_MAX_MS = 7 * 86_400_000;
/** Where secrets live: the vault's namespace of their own, not under the account (the vault's erasure of an account must not take an ending stream's secret). */
const place = (streamId: string) => ({
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

/** The destination as shown and audited: no query string, no fragment (they can carry tokens). */
export const shownUrl = (url: string) => {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '';
  }
};
const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
};

/** A destination's problem in words of our own (never the URL, nor its host). */
function refusal(error: unknown): Error {
  const m = error instanceof Error ? error.message : '';
  const why = /must be https/.test(m)
    ? 'must be https'
    : /credentials/.test(m)
      ? 'credentials in the URL are not allowed'
      : /not a public address|resolves to a non-public/.test(m)
        ? 'not a public address'
        : /not a public host/.test(m)
          ? 'not a public host name'
          : /does not resolve/.test(m)
            ? 'the host does not resolve'
            : 'not a URL';
  return new AuditStreamInvalidUrl(why);
}

const chunks = <T>(list: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

export class AuditStreams {
  readonly #app: FastifyInstance;
  readonly #o: AuditStreamsOptions;
  readonly #db: Database;

  constructor(app: FastifyInstance, o: AuditStreamsOptions) {
    this.#app = app;
    this.#o = o;
    this.#db = o.db;
  }

  #owned(owner: StreamOwner) {
    return owner.kind === 'admin' ? undefined : eq(auditStreams.accountId, owner.id);
  }

  /** Registers a stream: its row and its secret (returned once, kept in the vault). */
  async create(
    owner: StreamOwner,
    input: { url: string; format: StreamFormat; from?: Date | undefined },
    request?: FastifyRequest,
  ): Promise<{ stream: AuditStream; secret: string }> {
    let url: URL;
    try {
      url = checkUrl(input.url, this.#o.policy);
      await checkResolved(url, this.#o.policy);
    } catch (error) {
      throw refusal(error);
    }
    const now = Date.now();
    if (input.from && !(input.from.getTime() <= now)) throw new AuditStreamInvalidFrom();
    const mine = owner.kind === 'admin' ? isNull(auditStreams.accountId) : eq(auditStreams.accountId, owner.id);
    const id = randomUUID();
    const secret = generateSecret();
    await this.#app.vault.put(place(id), Buffer.from(secret, 'utf8'));
    // Counted and inserted under a transaction lock of the owner's: two registrations at once cannot make a sixth.
    const stream = await this.#db.transaction(async (tx) => {
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtext(${`hf-audit-streams:${owner.kind === 'admin' ? 'admin' : owner.id}`}))`,
      );
      const [held] = await tx.select({ n: count() }).from(auditStreams).where(mine);
      if ((held?.n ?? 0) >= MAX_STREAMS) return null;
      const [row] = await tx
        .insert(auditStreams)
        .values({
          id,
          accountId: owner.kind === 'admin' ? null : owner.id,
          url: url.href,
          format: input.format,
          // The cursor is an id floor: ids are UUIDv7, made in time order (a `from` a second early: an id is made as its event is chained).
          cursor: uuidv7Floor(input.from ? input.from.getTime() - 1000 : now),
          erasureCursor: uuidv7Floor(now),
        })
        .returning();
      return row!;
    });
    if (!stream) {
      await this.#app.vault.delete(place(id));
      throw new AuditStreamLimit(MAX_STREAMS);
    }
    await securityEvent(this.#app, request, {
      action: 'audit.stream.created',
      resource: `audit-stream:${id}`,
      outcome: 'success',
      details: {
        streamId: id,
        format: input.format,
        host: url.host,
        scope: owner.kind === 'admin' ? 'all' : 'own',
        from: input.from?.toISOString() ?? null,
      },
      durability: 'sync',
    });
    return { stream, secret };
  }

  /** The owner's streams (the admin: every stream), oldest first. */
  list(owner: StreamOwner): Promise<AuditStream[]> {
    return this.#db
      .select()
      .from(auditStreams)
      .where(this.#owned(owner))
      .orderBy(asc(auditStreams.createdAt), asc(auditStreams.id));
  }

  /** Deletes a stream of the owner's (the admin: any), its delivered-id log and its secret; false when there is none. */
  async remove(owner: StreamOwner, id: string, request?: FastifyRequest): Promise<boolean> {
    const [gone] = await this.#db
      .delete(auditStreams)
      .where(and(eq(auditStreams.id, id), this.#owned(owner)))
      .returning();
    if (!gone) return false;
    await this.#forget(id);
    await securityEvent(this.#app, request, {
      action: 'audit.stream.deleted',
      resource: `audit-stream:${id}`,
      outcome: 'success',
      details: { streamId: id, host: hostOf(gone.url), scope: gone.accountId === null ? 'all' : 'own' },
      durability: 'sync',
    });
    return true;
  }

  /** An ending stream's last step: the row, its delivered-id log and its secret go (audited, under no subject: the account is erased). */
  async #end(s: AuditStream): Promise<number> {
    await this.#db.delete(auditStreams).where(eq(auditStreams.id, s.id));
    await this.#forget(s.id);
    await securityEvent(this.#app, undefined, {
      action: 'audit.stream.deleted',
      resource: `audit-stream:${s.id}`,
      outcome: 'success',
      details: { streamId: s.id, reason: 'account-erased' },
    });
    return 0;
  }

  async #forget(id: string): Promise<void> {
    await this.#db.delete(auditStreamSent).where(eq(auditStreamSent.streamId, id));
    await this.#app.vault.delete(place(id));
  }

  /**
   * Sends what is due: claims due streams a few at a time and sends each one page (deletion
   * records first, then up to STREAM_PAGE events). A stream whose page was full is due again at
   * once. Returns how many events were delivered. `settleMs`: tests (0 with `audit.flush()` first).
   */
  async deliver(o: { settleMs?: number; limit?: number } = {}): Promise<number> {
    let delivered = 0;
    for (;;) {
      const now = new Date();
      const due = this.#db
        .select({ id: auditStreams.id })
        .from(auditStreams)
        .where(lte(auditStreams.nextAttemptAt, now))
        .orderBy(asc(auditStreams.nextAttemptAt))
        .limit(o.limit ?? 10)
        .for('update', { skipLocked: true });
      const claimed = await this.#db
        .update(auditStreams)
        .set({ attempts: sql`${auditStreams.attempts} + 1`, nextAttemptAt: new Date(now.getTime() + LEASE_MS) })
        .where(inArray(auditStreams.id, due))
        .returning();
      if (!claimed.length) return delivered;
      for (const mine of claimed) {
        // The streams are run one after another (each up to a 15 s POST): by its turn a stream's
        // lease may have run out and another turn taken it. Leased anew, only if still ours, and
        // read anew (its cursors as they are now, not as claimed): else it is not ours to send.
        const [stream] = await this.#db
          .update(auditStreams)
          .set({ nextAttemptAt: new Date(Date.now() + LEASE_MS) })
          .where(and(eq(auditStreams.id, mine.id), eq(auditStreams.nextAttemptAt, mine.nextAttemptAt)))
          .returning();
        if (!stream) continue;
        try {
          delivered += await this.#run(stream, o.settleMs ?? this.#o.settleMs ?? 15_000);
        } catch (error) {
          // The lease runs out and the stream is due again; never the URL, the secret or a driver's message.
          this.#app.log.error(
            { err: errorCodes(error), streamId: stream.id },
            'audit streams: a stream could not be sent; it is tried again',
          );
        }
      }
    }
  }

  /** One stream's turn: returns the events delivered. */
  async #run(s: AuditStream, settleMs: number): Promise<number> {
    const now = Date.now();
    // An erased account's stream that could not be told within a week (its receiver keeps failing) goes all the same.
    if (s.status === 'ending' && s.endingAt && now - s.endingAt.getTime() > ENDING_MAX_MS) return this.#end(s);
    const before = uuidv7Floor(now - settleMs);
    // The stream's cursors are written only while this turn holds it (the lease it took).
    const held = and(eq(auditStreams.id, s.id), eq(auditStreams.nextAttemptAt, s.nextAttemptAt));
    const erasures = await this.#erasures(s, before, now);
    const events =
      s.status === 'active'
        ? await eventsAfter(this.#db, {
            after: s.cursor,
            before,
            limit: STREAM_PAGE,
            ...(s.accountId === null ? {} : { subjectId: s.accountId, exceptActions: OPERATOR_ONLY_ACTIONS }),
          })
        : [];
    const idle = this.#o.intervalSeconds > 0 ? this.#o.intervalSeconds * 1000 : 5_000;
    if (!erasures.deletions.length && !events.length) {
      // Every erasure record up to a while after the account's erasure was looked at: nothing more is owed.
      if (
        s.status === 'ending' &&
        s.endingAt &&
        erasures.cursor >= uuidv7Floor(s.endingAt.getTime() + ENDING_GRACE_MS) &&
        !erasures.more
      )
        return this.#end(s);
      await this.#db
        .update(auditStreams)
        .set({ attempts: 0, erasureCursor: erasures.cursor, nextAttemptAt: new Date(now + idle) })
        .where(held);
      return 0;
    }
    const secret = (await this.#app.vault.get(place(s.id)))?.value.toString('utf8');
    if (!secret)
      throw Object.assign(new Error('audit stream secret missing'), { code: 'HF_AUDIT_STREAM_SECRET_MISSING' });
    const body = ndjson(s.format, erasures.deletions, events);
    // The same page sent again is the same message id (receivers de-duplicate); a page read
    // anew with other content (an erasure in between) is another message.
    const messageId = `audit_${createHash('sha256').update(`${s.id}\n`).update(body).digest('base64url').slice(0, 32)}`;
    const headers = signWebhook({ id: messageId, timestamp: new Date(now), payload: body, secrets: secret });
    // The delivered-id log is written before the POST, not after: an erasure looked at while the
    // POST is in flight (by another turn) finds what this one is sending. An id logged for a POST
    // that fails is at worst named by a deletion record the receiver has nothing for.
    const sent = events.filter((e) => e.subjectId !== null).map((e) => ({ streamId: s.id, eventId: e.id, day: e.day }));
    for (const part of chunks(sent, 1000)) await this.#db.insert(auditStreamSent).values(part).onConflictDoNothing();
    const result = await send(s.url, headers, body, this.#o.policy, SEND_TIMEOUT_MS, 'application/x-ndjson');
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    if (!ok) {
      const delay =
        retryDelay(Math.min(s.attempts, STREAM_RETRY_MS.length), STREAM_RETRY_MS) ?? STREAM_RETRY_MS.at(-1)!;
      await this.#db
        .update(auditStreams)
        .set({
          nextAttemptAt: new Date(now + delay),
          lastAttemptAt: new Date(now),
          lastErrorStatus: result.statusCode,
          lastErrorCode: result.error,
          failingSince: sql`coalesce(${auditStreams.failingSince}, now())`,
        })
        .where(held);
      await securityEvent(this.#app, undefined, {
        action: 'audit.stream.delivery_failed',
        resource: `audit-stream:${s.id}`,
        outcome: 'failure',
        details: {
          streamId: s.id,
          host: hostOf(s.url),
          status: result.statusCode,
          error: result.error,
          attempts: s.attempts,
          events: events.length,
        },
        ...(s.accountId === null ? {} : { subjectId: s.accountId }),
      });
      return 0;
    }
    const last = events.at(-1);
    const announced = erasures.deletions.flatMap((d) => d.ids);
    const full = events.length === STREAM_PAGE || erasures.more;
    await this.#db.transaction(async (tx) => {
      const moved = await tx
        .update(auditStreams)
        .set({
          cursor: last?.id ?? s.cursor,
          erasureCursor: erasures.cursor,
          attempts: 0,
          nextAttemptAt: new Date(now + (full ? 0 : idle)),
          delivered: sql`${auditStreams.delivered} + ${events.length}`,
          lastDeliveryAt: new Date(now),
          lastAttemptAt: new Date(now),
          failingSince: null,
        })
        .where(held)
        .returning({ id: auditStreams.id });
      // Another turn holds the stream now (its cursors are its own): this page is sent again at worst.
      if (!moved.length) return;
      for (const part of chunks(announced, 1000))
        await tx
          .delete(auditStreamSent)
          .where(and(eq(auditStreamSent.streamId, s.id), inArray(auditStreamSent.eventId, part)));
    });
    return events.length;
  }

  /**
   * The deletion records a stream owes: erasure records after its erasure cursor (older than the
   * settle bound), each once applied, naming the events this stream delivered that it erased.
   * `cursor`: how far the records were looked at; `more`: some are left for the next turn.
   */
  async #erasures(
    s: AuditStream,
    before: string,
    now: number,
  ): Promise<{ deletions: DeletionRecord[]; cursor: string; more: boolean }> {
    const deletions: DeletionRecord[] = [];
    let cursor = s.erasureCursor;
    let budget = DELETIONS_PER_POST;
    const records = await eventsAfter(this.#db, { after: s.erasureCursor, before, action: ERASURE_ACTION, limit: 50 });
    for (const r of records) {
      const d = (r.details ?? {}) as { erasureId?: unknown; firstId?: unknown; lastId?: unknown };
      const erasureId = typeof d.erasureId === 'string' ? d.erasureId : null;
      const firstId = typeof d.firstId === 'string' ? d.firstId : null;
      const lastId = typeof d.lastId === 'string' ? d.lastId : null;
      if (erasureId && firstId && lastId) {
        const applied = await this.#applied(firstId, erasureId);
        // Recorded, not yet applied (its transaction runs after the record): wait for it, within reason.
        if (applied === 'pending' && now - r.occurredAt.getTime() < ERASURE_WAIT_MS)
          return { deletions, cursor, more: true };
        if (applied === 'yes') {
          const ids = await this.#named(s.id, firstId, lastId, erasureId, budget);
          for (const part of chunks(ids, IDS_PER_RECORD)) deletions.push({ erasureId, ids: part, at: r.occurredAt });
          budget -= ids.length;
          // More of this erasure than a POST carries: the rest next turn (what is announced leaves the log).
          if (budget <= 0) return { deletions, cursor, more: true };
        }
      }
      cursor = r.id;
    }
    // Every record before the settle bound was looked at: the cursor moves up to it.
    return { deletions, cursor: records.length < 50 && before > cursor ? before : cursor, more: records.length === 50 };
  }

  /** Has the erasure been applied (its first event tagged with it)? */
  async #applied(firstId: string, erasureId: string): Promise<'yes' | 'pending' | 'no'> {
    const [row] = await this.#db
      .select({ erasedBy: auditEvents.erasedBy })
      .from(auditEvents)
      .where(eq(auditEvents.id, firstId))
      .limit(1);
    if (!row) return 'no';
    if (row.erasedBy === erasureId) return 'yes';
    return row.erasedBy === null ? 'pending' : 'no';
  }

  /** The events this stream delivered (with a subject) in [firstId, lastId] that the erasure erased. */
  async #named(streamId: string, firstId: string, lastId: string, erasureId: string, limit: number): Promise<string[]> {
    const rows = await this.#db
      .select({ id: auditStreamSent.eventId })
      .from(auditStreamSent)
      .innerJoin(
        auditEvents,
        and(eq(auditEvents.id, auditStreamSent.eventId), eq(auditEvents.day, auditStreamSent.day)),
      )
      .where(
        and(
          eq(auditStreamSent.streamId, streamId),
          gte(auditStreamSent.eventId, firstId),
          lte(auditStreamSent.eventId, lastId),
          eq(auditEvents.erasedBy, erasureId),
        ),
      )
      .orderBy(asc(auditStreamSent.eventId))
      .limit(limit);
    return rows.map((r) => r.id);
  }

  /** Forgets delivered ids older than the server-log period (their events are purged): `limit` rows a stream at most. */
  async prune(now = Date.now(), limit = 5000): Promise<number> {
    const floor = uuidv7Floor(now - (this.#o.retentionDays + 1) * 86_400_000);
    let pruned = 0;
    for (const { id } of await this.#db.select({ id: auditStreams.id }).from(auditStreams)) {
      const old = this.#db
        .select({ eventId: auditStreamSent.eventId })
        .from(auditStreamSent)
        .where(and(eq(auditStreamSent.streamId, id), lt(auditStreamSent.eventId, floor)))
        .limit(limit);
      pruned += (
        await this.#db
          .delete(auditStreamSent)
          .where(and(eq(auditStreamSent.streamId, id), inArray(auditStreamSent.eventId, old)))
          .returning({ id: auditStreamSent.eventId })
      ).length;
    }
    return pruned;
  }

  /** An account's erasure: its streams end (deletion records only, then they go). */
  async endAccount(accountId: string): Promise<number> {
    const ended = await this.#db
      .update(auditStreams)
      .set({ status: 'ending', endingAt: new Date(), nextAttemptAt: new Date() })
      .where(and(eq(auditStreams.accountId, accountId), eq(auditStreams.status, 'active')))
      .returning({ id: auditStreams.id });
    return ended.length;
  }
}

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

declare module 'fastify' {
  interface FastifyInstance {
    /** Audit streams to customers' SIEMs (issue 33 item 5). */
    auditStreams: AuditStreams;
  }
}

/** The personal-data handler: an account's streams (destinations) exported; erased: they end. */
function streamsPersonalData(streams: AuditStreams) {
  return {
    name: 'audit_streams',
    identifiers: ['account'] as const,
    withheld: 'signing secrets; destinations without their query string',
    async exportSubject(ref: SubjectRef) {
      const accountId = (ref as { accountId: string }).accountId;
      return {
        streams: (await streams.list({ kind: 'account', id: accountId })).map((s) => ({
          id: s.id,
          url: shownUrl(s.url),
          format: s.format,
          createdAt: s.createdAt.toISOString(),
        })),
      };
    },
    async eraseSubject(ref: SubjectRef) {
      return { erased: await streams.endAccount((ref as { accountId: string }).accountId) };
    },
  };
}

/** Decorates `app.auditStreams` and runs its delivery job; after audit and the vault. */
export const auditStreamsPlugin = fp(
  async (app: FastifyInstance, o: AuditStreamsOptions) => {
    const streams = new AuditStreams(app, o);
    app.decorate('auditStreams', streams);
    registerPersonalDataHandler(app, streamsPersonalData(streams));
    if (o.intervalSeconds > 0) {
      let runs = 0;
      everyInterval(
        app,
        o.intervalSeconds * 1000,
        async () => {
          try {
            await streams.deliver();
            // The delivered-id log's prune, about once an hour.
            if (runs++ % Math.max(1, Math.round(3600 / o.intervalSeconds)) === 0) await streams.prune();
          } catch (error) {
            app.log.error({ err: errorCodes(error) }, 'audit streams: the delivery job failed; it runs again');
          }
        },
        { atStartup: false },
      );
    }
  },
  { name: 'audit-streams' },
);

export type { AuditEvent };
