/**
 * The dispatcher: one batch of due deliveries, each attempted once.
 *
 * - Due rows are claimed with FOR UPDATE SKIP LOCKED and a lease (the claim moves next_attempt_at
 *   past the send timeout), so several replicas each deliver a message once, and a replica that
 *   dies mid-send releases its claim when the lease ends.
 * - Each attempt ends by the send's deadline and is recorded on its own, with at most 1 KiB of the
 *   answer (signatures and secrets removed); 2xx delivers; anything else (3xx included: redirects
 *   are not followed) retries on the schedule, then the delivery has failed: if the row is still
 *   the claim this attempt made.
 * - A 410, or every attempt failing for `disableAfterDays`, disables the endpoint and holds its
 *   pending deliveries (issue 34 item 3; lifecycle.ts): nothing is cancelled.
 */
import { claimDue } from '@harakaflow/db/internals';
import { and, eq, inArray } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { webhookMessageId } from './delivery-log.js';
import { redactionsOf, responseExcerpt } from './excerpt.js';
import { disableEndpoint, noteFailure, noteSuccess, settleInactive } from './lifecycle.js';
import { retryDelay, RETRY_SCHEDULE_MS } from './schedule.js';
import { attempts, deliveries, endpoints } from './schema.js';
import { send, type SendResult } from './send.js';
import type { DisabledEndpoint, ServiceOptions } from './service-types.js';
import { signWebhook } from './standard.js';

type EndpointRow = typeof endpoints.$inferSelect;
type DeliveryRow = typeof deliveries.$inferSelect;

/** How long a delivery of a paused endpoint waits before it is looked at again. */
const PAUSED_RETRY_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Errors of ours, not the endpoint's (its secret could not be read): they do not count toward disabling it. */
const OUR_FAILURE = /^(HF_VAULT_|HF_WEBHOOK_NO_SECRET$|HF_WEBHOOK_SECRET_UNAVAILABLE$)/;

/** Claims up to `limit` due deliveries and attempts each once. Returns how many were attempted. */
export async function dispatchBatch(o: ServiceOptions, clock: () => Date, limit: number): Promise<number> {
  const now = clock();
  const timeout = o.sendTimeoutMs ?? 15_000;
  // The lease: a claimed delivery is not due again before the send has surely ended.
  const lease = new Date(now.getTime() + timeout * 2 + 5_000);
  const claimed = await claimDue(o.db, deliveries, { pending: 'pending', now, leaseUntil: lease, limit });
  if (!claimed.length) return 0;
  // One read of the batch's endpoints, and of each endpoint's secrets (a vault decryption each),
  // however many of its deliveries the batch holds.
  const ids = [...new Set(claimed.map((d) => d.endpointId))];
  const rows = new Map((await o.db.select().from(endpoints).where(inArray(endpoints.id, ids))).map((e) => [e.id, e]));
  const secrets = new Map<string, Promise<string[]>>();
  for (const e of rows.values()) if (e.status === 'active') secrets.set(e.id, signingSecrets(o, e, now));
  // Each delivery is attempted and recorded on its own: one that fails to be recorded neither stops
  // nor hides the others (every attempt is bounded by the send's deadline: send.ts).
  const settled = await Promise.allSettled(
    claimed.map((d) => attempt(o, clock, d, rows.get(d.endpointId), secrets.get(d.endpointId))),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return claimed.length;
}

/** The secrets that sign an endpoint's deliveries now: the current one, and the previous during the overlap. */
async function signingSecrets(o: ServiceOptions, endpoint: EndpointRow, now: Date): Promise<string[]> {
  const list = [await o.secrets.get(endpoint.accountId, endpoint.id, 'current')];
  if (endpoint.previousSecretUntil && endpoint.previousSecretUntil > now)
    list.push(await o.secrets.get(endpoint.accountId, endpoint.id, 'previous'));
  return list.filter((s): s is string => !!s);
}

/**
 * Signs and sends one delivery, or records why it could not be (its secret unreadable); with what to keep out of the
 * log.
 */
async function sendSigned(
  o: ServiceOptions,
  d: DeliveryRow,
  endpoint: EndpointRow,
  signing: Promise<string[]>,
  now: Date,
): Promise<{ result: SendResult; redact: string[] }> {
  let usable: string[];
  try {
    usable = await signing;
  } catch (error) {
    // A secret that cannot be opened (a damaged record, a KEK gone) is a failed attempt with its
    // code, on the retry schedule: never a delivery left pending with no attempt.
    const code = (error as { code?: unknown }).code;
    return {
      result: {
        statusCode: null,
        error: typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'HF_WEBHOOK_SECRET_UNAVAILABLE',
        durationMs: 0,
      },
      redact: [],
    };
  }
  if (!usable.length) return { result: { statusCode: null, error: 'HF_WEBHOOK_NO_SECRET', durationMs: 0 }, redact: [] };
  // The message id is the delivery id: the same on every retry and resend, so receivers can
  // de-duplicate; the timestamp, and so the signature, are this attempt's.
  const headers = signWebhook({ id: webhookMessageId(d.id), timestamp: now, payload: d.payload, secrets: usable });
  const result = await send(endpoint.url, { ...headers }, d.payload, o.policy ?? {}, o.sendTimeoutMs ?? 15_000);
  return { result, redact: redactionsOf(usable, headers['webhook-signature']) };
}

async function attempt(
  o: ServiceOptions,
  clock: () => Date,
  d: DeliveryRow,
  endpoint: EndpointRow | undefined,
  signing: Promise<string[]> | undefined,
): Promise<void> {
  if (endpoint?.status === 'paused') {
    // Waiting while its account is paused (a deletion in its grace period): looked at again later,
    // not lost, and the claim not counted as an attempt.
    await o.db
      .update(deliveries)
      .set({ nextAttemptAt: new Date(clock().getTime() + PAUSED_RETRY_MS), attempts: d.attempts - 1 })
      .where(eq(deliveries.id, d.id));
    return;
  }
  if (!endpoint || endpoint.status !== 'active' || !signing) {
    await settleInactive(o.db, d, clock());
    return;
  }
  const now = clock();
  const { result, redact } = await sendSigned(o, d, endpoint, signing, now);
  await o.db.insert(attempts).values({
    id: randomUUID(),
    deliveryId: d.id,
    attemptedAt: now,
    statusCode: result.statusCode,
    error: result.error,
    durationMs: result.durationMs,
    responseExcerpt: responseExcerpt(result.response, redact, { cut: result.error ? true : undefined }),
  });
  let outcome: 'delivered' | 'retry' | 'failed' | 'gone';
  if (result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300) {
    outcome = 'delivered';
    await o.db
      .update(deliveries)
      .set({ status: 'delivered', deliveredAt: clock(), lastStatusCode: result.statusCode, lastError: null })
      .where(eq(deliveries.id, d.id));
    if (endpoint.failingSince) await noteSuccess(o.db, endpoint.id);
  } else if (result.statusCode === 410) {
    outcome = 'gone';
    // The endpoint asked for nothing more: disabled, and this delivery held with the rest.
    await o.db
      .update(deliveries)
      .set({ lastStatusCode: 410, lastError: 'endpoint gone' })
      .where(eq(deliveries.id, d.id));
    await disable(o, endpoint, 'gone', now);
  } else {
    const delay = retryDelay(d.attempts, o.schedule ?? RETRY_SCHEDULE_MS);
    outcome = delay === null ? 'failed' : 'retry';
    await o.db
      .update(deliveries)
      .set(
        delay === null
          ? { status: 'failed', lastStatusCode: result.statusCode, lastError: result.error }
          : {
              nextAttemptAt: new Date(now.getTime() + delay),
              lastStatusCode: result.statusCode,
              lastError: result.error,
            },
      )
      // Only the claim this attempt made (review L1): a row released meanwhile (its lease ended and
      // another replica claimed it, or its endpoint was disabled and enabled) is not this attempt's
      // to mark failed or to reschedule.
      .where(and(eq(deliveries.id, d.id), eq(deliveries.status, 'pending'), eq(deliveries.attempts, d.attempts)));
    if (!OUR_FAILURE.test(result.error ?? '')) {
      const since = await noteFailure(o.db, endpoint.id, now);
      const cutoff = new Date(now.getTime() - (o.disableAfterDays ?? 5) * DAY_MS);
      if (since && since <= cutoff) await disable(o, endpoint, 'failing', now, cutoff);
    }
  }
  o.onAttempt?.({ deliveryId: d.id, endpointId: endpoint.id, accountId: d.accountId, result, outcome });
}

async function disable(
  o: ServiceOptions,
  endpoint: EndpointRow,
  reason: DisabledEndpoint['reason'],
  now: Date,
  failingBefore?: Date,
): Promise<void> {
  const text =
    reason === 'gone' ? 'the endpoint answered 410 Gone' : `every attempt failed for ${o.disableAfterDays ?? 5} days`;
  const done = await disableEndpoint(o.db, endpoint.id, text, now, failingBefore);
  if (!done) return; // not active any more: another replica disabled it (and told the account)
  await o.onDisabled?.({
    id: endpoint.id,
    accountId: endpoint.accountId,
    url: endpoint.url,
    reason,
    disabledAt: now,
    failingSince: done.endpoint.failingSince,
    held: done.held,
  });
}
