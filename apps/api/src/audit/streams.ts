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
import { uuidv7Floor, type AuditEvent } from '@harakaflow/audit';
import { errorCodes, registerPersonalDataHandler, securityEvent } from '@harakaflow/core';
import { checkResolved, checkUrl, generateSecret } from '@harakaflow/webhooks';
import { and, asc, count, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { randomUUID } from 'node:crypto';
import type { StreamFormat } from './stream-format.js';
import { AuditStreamInvalidFrom, AuditStreamInvalidUrl, AuditStreamLimit } from '../http/errors.js';
import { everyInterval } from '../wiring/jobs.js';
import { auditStreamSent, auditStreams } from '../data/schema.js';
import { deliverDue } from './stream-delivery.js';
import {
  forgetStream,
  hostOf,
  MAX_STREAMS,
  place,
  type AuditStream,
  type AuditStreamsOptions,
  type StreamContext,
  type StreamOwner,
} from './stream-model.js';
import { streamsPersonalData } from './stream-personal-data.js';

export {
  MAX_STREAMS,
  shownUrl,
  STREAM_PAGE,
  STREAM_RETRY_MS,
  streamView,
  type AuditStream,
  type AuditStreamsOptions,
  type StreamOwner,
} from './stream-model.js';

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

export class AuditStreams {
  readonly #ctx: StreamContext;

  constructor(app: FastifyInstance, o: AuditStreamsOptions) {
    this.#ctx = { app, o, db: o.db };
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
      url = checkUrl(input.url, this.#ctx.o.policy);
      await checkResolved(url, this.#ctx.o.policy);
    } catch (error) {
      throw refusal(error);
    }
    const now = Date.now();
    if (input.from && !(input.from.getTime() <= now)) throw new AuditStreamInvalidFrom();
    const mine = owner.kind === 'admin' ? isNull(auditStreams.accountId) : eq(auditStreams.accountId, owner.id);
    const id = randomUUID();
    const secret = generateSecret();
    await this.#ctx.app.vault.put(place(id), Buffer.from(secret, 'utf8'));
    // Counted and inserted under a transaction lock of the owner's: two registrations at once cannot make a sixth.
    const stream = await this.#ctx.db.transaction(async (tx) => {
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
          // The cursor is an id floor: ids are UUIDv7, made in time order (a `from` a second early: an id is made as
          // its event is chained).
          cursor: uuidv7Floor(input.from ? input.from.getTime() - 1000 : now),
          erasureCursor: uuidv7Floor(now),
        })
        .returning();
      return row!;
    });
    if (!stream) {
      await this.#ctx.app.vault.delete(place(id));
      throw new AuditStreamLimit(MAX_STREAMS);
    }
    await securityEvent(this.#ctx.app, request, {
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
    return this.#ctx.db
      .select()
      .from(auditStreams)
      .where(this.#owned(owner))
      .orderBy(asc(auditStreams.createdAt), asc(auditStreams.id));
  }

  /**
   * Deletes a stream of the owner's (the admin: any), its delivered-id log and its secret; false when there is none.
   */
  async remove(owner: StreamOwner, id: string, request?: FastifyRequest): Promise<boolean> {
    const [gone] = await this.#ctx.db
      .delete(auditStreams)
      .where(and(eq(auditStreams.id, id), this.#owned(owner)))
      .returning();
    if (!gone) return false;
    await forgetStream(this.#ctx, id);
    await securityEvent(this.#ctx.app, request, {
      action: 'audit.stream.deleted',
      resource: `audit-stream:${id}`,
      outcome: 'success',
      details: { streamId: id, host: hostOf(gone.url), scope: gone.accountId === null ? 'all' : 'own' },
      durability: 'sync',
    });
    return true;
  }

  /**
   * Sends what is due: claims due streams a few at a time and sends each one page (deletion
   * records first, then up to STREAM_PAGE events). A stream whose page was full is due again at
   * once. Returns how many events were delivered. `settleMs`: tests (0 with `audit.flush()` first).
   */
  deliver(o: { settleMs?: number; limit?: number } = {}): Promise<number> {
    return deliverDue(this.#ctx, o);
  }

  /**
   * Forgets delivered ids older than the server-log period (their events are purged): `limit` rows a stream at most.
   */
  async prune(now = Date.now(), limit = 5000): Promise<number> {
    const floor = uuidv7Floor(now - (this.#ctx.o.retentionDays + 1) * 86_400_000);
    let pruned = 0;
    for (const { id } of await this.#ctx.db.select({ id: auditStreams.id }).from(auditStreams)) {
      const old = this.#ctx.db
        .select({ eventId: auditStreamSent.eventId })
        .from(auditStreamSent)
        .where(and(eq(auditStreamSent.streamId, id), lt(auditStreamSent.eventId, floor)))
        .limit(limit);
      pruned += (
        await this.#ctx.db
          .delete(auditStreamSent)
          .where(and(eq(auditStreamSent.streamId, id), inArray(auditStreamSent.eventId, old)))
          .returning({ id: auditStreamSent.eventId })
      ).length;
    }
    return pruned;
  }

  /** An account's erasure: its streams end (deletion records only, then they go). */
  async endAccount(accountId: string): Promise<number> {
    const ended = await this.#ctx.db
      .update(auditStreams)
      .set({ status: 'ending', endingAt: new Date(), nextAttemptAt: new Date() })
      .where(and(eq(auditStreams.accountId, accountId), eq(auditStreams.status, 'active')))
      .returning({ id: auditStreams.id });
    return ended.length;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Audit streams to customers' SIEMs (issue 33 item 5). */
    auditStreams: AuditStreams;
  }
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
