/**
 * `Idempotency-Key` on `POST /v1/messages` (issue 18 item 6; the IETF httpapi Idempotency-Key
 * draft). The first request with a key from an account is carried out; its response is kept for
 * 24 hours, and the same key with the same body answers it again (`Idempotent-Replayed: true`)
 * and sends nothing, on any replica: the row's primary key (account, key) decides which request
 * was first. The same key with another body: 422; while the first is still being answered: 409.
 * A request that ends in an error leaves no key behind, so the client may retry it.
 */
import type { Database } from '@harakaflow/db';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { IdempotencyKeyInProgress, IdempotencyKeyInvalid, IdempotencyKeyReused } from './errors.js';
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
    Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;
  return createHash('sha256').update(JSON.stringify(canonical(body ?? null))).digest('hex');
}

const kKey = Symbol('idempotency key');
type Tagged = FastifyRequest & { [kKey]?: { accountId: string; key: string } | undefined };

/** Route hooks for one route: `preValidation` claims or replays the key; `onSend` keeps a success's response, or drops a failure's claim, before it is sent. */
export function idempotencyHooks(db: Database) {
  async function claim(accountId: string, key: string, fingerprint: string): Promise<{ status: number; body: unknown } | null> {
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
    const [row] = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)));
    if (!row) return claim(accountId, key, fingerprint); // its failed first attempt dropped it meanwhile
    if (row.fingerprint !== fingerprint) throw new IdempotencyKeyReused();
    if (row.status === 'done') return { status: row.responseStatus ?? 200, body: row.responseBody };
    if (row.createdAt.getTime() < now - STALE_PENDING_MS) {
      const taken = await db
        .update(idempotencyKeys)
        .set({ createdAt: sql`now()` })
        .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key), eq(idempotencyKeys.status, 'pending'), eq(idempotencyKeys.createdAt, row.createdAt)))
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
    async onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
      const tag = (request as Tagged)[kKey];
      if (!tag) return payload;
      (request as Tagged)[kKey] = undefined;
      const mine = and(eq(idempotencyKeys.accountId, tag.accountId), eq(idempotencyKeys.key, tag.key), eq(idempotencyKeys.status, 'pending'));
      if (reply.statusCode >= 400 || typeof payload !== 'string') {
        // Not a success: the claim goes before the answer does, and the client may retry with the same key.
        await db.delete(idempotencyKeys).where(mine);
        return payload;
      }
      await db.update(idempotencyKeys).set({ status: 'done', responseStatus: reply.statusCode, responseBody: JSON.parse(payload) as unknown }).where(mine);
      return payload;
    },
  };
}
