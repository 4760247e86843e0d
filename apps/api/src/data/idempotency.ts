/**
 * `Idempotency-Key` on `POST /v1/messages` (issue 18 item 6; the IETF httpapi Idempotency-Key
 * draft). The first request with a key from an account is carried out; its response is kept for
 * 24 hours, and the same key with the same body answers it again (`Idempotent-Replayed: true`)
 * and sends nothing, on any replica: the row's primary key (account, key) decides which request
 * was first. The same key with another body: 422; while the first is still being answered: 409.
 * The route stores its answer with `complete()` inside the transaction of its own change, so the
 * change and the key's answer commit together: a request whose change committed answers the same
 * again whatever happens after (the database lost before the response, a replica killed). A
 * request that ends in an error before that leaves no key behind, so the client may retry it.
 */
import type { Database } from '@harakaflow/db';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { IdempotencyKeyInProgress, IdempotencyKeyInvalid, IdempotencyKeyReused } from '../http/errors.js';
import { idempotencyKeys } from './schema.js';

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** A key still pending after this long belongs to a request that died with its replica: taken over. */
const STALE_PENDING_MS = 60_000;
const KEY = /^[\x21-\x7e]{1,255}$/;

/** The key of an `Idempotency-Key` header: an sf-string (`"..."`, as the draft writes it) or a bare token. */
export function parseIdempotencyKey(header: string | string[]): string {
  const value = Array.isArray(header) ? (header.length === 1 ? header[0]! : '') : header.trim();
  const key = /^"(.*)"$/.test(value) ? value.slice(1, -1).replace(/\\(["\\])/g, '$1') : value;
  if (!KEY.test(key)) throw new IdempotencyKeyInvalid();
  return key;
}

/** SHA-256 over the body with its keys sorted: the same message however its JSON was written. */
export function bodyFingerprint(body: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(body ?? null)))
    .digest('hex');
}

const kKey = Symbol('idempotency key');
/**
 * A request's claim: `completed` once its answer is stored in its change's transaction, `released` once its onSend gave
 * the key up.
 */
type Tag = { accountId: string; key: string; completed?: boolean; released?: boolean };
type Tagged = FastifyRequest & { [kKey]?: Tag | undefined };

/**
 * Route hooks for one route: `preValidation` claims or replays the key; the handler calls
 * `complete()` in the transaction of its change (every success does); `onSend` drops the claim of
 * a request that committed nothing.
 */
export function idempotencyHooks(db: Database) {
  const pending = (tag: { accountId: string; key: string }) =>
    and(
      eq(idempotencyKeys.accountId, tag.accountId),
      eq(idempotencyKeys.key, tag.key),
      eq(idempotencyKeys.status, 'pending'),
    );
  async function claim(
    accountId: string,
    key: string,
    fingerprint: string,
  ): Promise<{ status: number; body: unknown } | null> {
    const now = Date.now();
    // One statement claims a new key, or one past its 24 hours (a new key again); a key in use is left as it is.
    const claimed = await db
      .insert(idempotencyKeys)
      .values({ accountId, key, fingerprint, status: 'pending' })
      .onConflictDoUpdate({
        target: [idempotencyKeys.accountId, idempotencyKeys.key],
        set: { fingerprint, status: 'pending', responseStatus: null, responseBody: null, createdAt: sql`now()` },
        where: lt(idempotencyKeys.createdAt, new Date(now - IDEMPOTENCY_TTL_MS)),
      })
      .returning({ key: idempotencyKeys.key });
    if (claimed.length) return null;
    const [row] = await db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)));
    if (!row) return claim(accountId, key, fingerprint); // its failed first attempt dropped it meanwhile
    if (row.fingerprint !== fingerprint) throw new IdempotencyKeyReused();
    if (row.status === 'done') return { status: row.responseStatus ?? 200, body: row.responseBody };
    if (row.createdAt.getTime() < now - STALE_PENDING_MS) {
      const taken = await db
        .update(idempotencyKeys)
        .set({ createdAt: sql`now()` })
        .where(
          and(
            eq(idempotencyKeys.accountId, accountId),
            eq(idempotencyKeys.key, key),
            eq(idempotencyKeys.status, 'pending'),
            eq(idempotencyKeys.createdAt, row.createdAt),
          ),
        )
        .returning({ key: idempotencyKeys.key });
      if (taken.length) return null;
    }
    throw new IdempotencyKeyInProgress();
  }

  return {
    async preValidation(request: FastifyRequest, reply: FastifyReply) {
      const header = request.headers['idempotency-key'];
      if (header === undefined || !request.account) return;
      const key = parseIdempotencyKey(header);
      const replay = await claim(request.account.id, key, bodyFingerprint(request.body));
      if (replay) return reply.code(replay.status).header('idempotent-replayed', 'true').send(replay.body);
      (request as Tagged)[kKey] = { accountId: request.account.id, key };
      return undefined;
    },
    /** In the route's own transaction: the key is done, with this answer, when the change commits. */
    async complete(request: FastifyRequest, tx: Database, status: number, body: unknown): Promise<void> {
      const tag = (request as Tagged)[kKey];
      if (!tag) return;
      // The claim must still be this request's: if it was given up (this request was answered
      // early and its onSend freed the key, which a retry may since have claimed again) or finished
      // by another, the change must not commit, or a retry would make it twice. Throwing rolls the
      // route's transaction back.
      if (tag.released) throw new IdempotencyKeyInProgress();
      const done = await tx
        .update(idempotencyKeys)
        .set({ status: 'done', responseStatus: status, responseBody: body })
        .where(pending(tag))
        .returning({ key: idempotencyKeys.key });
      if (!done.length) throw new IdempotencyKeyInProgress();
      tag.completed = true;
    },
    async onSend(request: FastifyRequest, _reply: FastifyReply, payload: unknown) {
      const tag = (request as Tagged)[kKey];
      if (!tag || tag.released) return payload;
      // Committed with the change: a later failure (this answer's own) does not undo it, and a retry replays it.
      if (tag.completed) return payload;
      // Nothing committed (an error before the change): the claim goes before the answer does, and
      // the client may retry with the same key. The tag stays, marked: a handler still running (this
      // answer came early) must not complete a claim that is no longer its own.
      tag.released = true;
      await db.delete(idempotencyKeys).where(pending(tag));
      return payload;
    },
  };
}
