/**
 * Endpoints, the outbox and the dispatcher, on Postgres (schema `webhooks`): the class the plugin
 * decorates `fastify.webhooks` with, usable without Fastify.
 *
 * - emit() writes one delivery per subscribed endpoint (held for a disabled one); nothing is sent
 *   on the caller's path.
 * - dispatch() sends a batch of due deliveries (dispatcher.ts): retries, and a 410 or every attempt
 *   failing for `disableAfterDays` disables the endpoint and holds what it had pending (issue 34:
 *   held, never cancelled; lifecycle.ts).
 * - The delivery log, resend, recover and enable (delivery-log.ts, lifecycle.ts) are the account's:
 *   each takes the account id, and another account's endpoint or delivery is not found.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import {
  getDelivery,
  listDeliveries,
  type DeliveryDetail,
  type DeliveryFilter,
  type DeliveryView,
} from './delivery-log.js';
import { checkResolved, checkUrl } from './destination.js';
import { dispatchBatch } from './dispatcher.js';
import { EndpointInputError } from './errors.js';
import { enableEndpoint, recoverEndpoint, resendDelivery, stillDisabled } from './lifecycle.js';
import { deliveries, endpoints } from './schema.js';
import { generateSecret } from './secrets.js';
import {
  accountDeliveries,
  contactDeliveries,
  eraseAccountDeliveries,
  eraseContactDeliveries,
  purgeDeliveries,
} from './subject-data.js';
import { endpointView, type Endpoint, type ServiceOptions } from './service-types.js';

export { EndpointInputError };

const MAX_ENDPOINTS_PER_ACCOUNT = 20;

export class WebhookService {
  readonly #o: ServiceOptions;
  readonly #now: () => Date;
  readonly #types: Set<string>;

  constructor(options: ServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
    this.#types = new Set(options.eventTypes);
  }

  #checkEvents(events: unknown): string[] {
    if (!Array.isArray(events) || !events.length || events.length > 50)
      throw new EndpointInputError('"events" must list 1 to 50 event types');
    for (const e of events) {
      if (e !== '*' && !this.#types.has(e as string))
        throw new EndpointInputError(`"events": unknown event type (known: ${[...this.#types].join(', ')}, or *)`);
    }
    return [...new Set(events as string[])];
  }

  /** A new endpoint and its secret, which is returned once and stored only in the secret store. */
  async create(
    accountId: string,
    input: { url: string; events: string[] },
  ): Promise<{ endpoint: Endpoint; secret: string }> {
    const url = checkUrl(input.url, this.#o.policy);
    await checkResolved(url, this.#o.policy);
    const events = this.#checkEvents(input.events);
    const [{ n } = { n: 0 }] = await this.#o.db
      .select({ n: sql<number>`count(*)::int` })
      .from(endpoints)
      .where(eq(endpoints.accountId, accountId));
    if (n >= MAX_ENDPOINTS_PER_ACCOUNT)
      throw new EndpointInputError(`at most ${MAX_ENDPOINTS_PER_ACCOUNT} endpoints per account`);
    const id = randomUUID();
    const secret = generateSecret();
    await this.#o.secrets.put(accountId, id, 'current', secret);
    const [row] = await this.#o.db.insert(endpoints).values({ id, accountId, url: url.toString(), events }).returning();
    return { endpoint: endpointView(row!), secret };
  }

  async list(accountId: string): Promise<Endpoint[]> {
    const rows = await this.#o.db
      .select()
      .from(endpoints)
      .where(eq(endpoints.accountId, accountId))
      .orderBy(asc(endpoints.createdAt));
    return rows.map(endpointView);
  }

  /** A new secret; the old one keeps signing (both signatures on every delivery) for the overlap. */
  async rotate(accountId: string, id: string): Promise<{ secret: string; previousValidUntil: Date } | null> {
    const [row] = await this.#o.db
      .select()
      .from(endpoints)
      .where(and(eq(endpoints.accountId, accountId), eq(endpoints.id, id)));
    if (!row) return null;
    const old = await this.#o.secrets.get(accountId, id, 'current');
    const secret = generateSecret();
    const until = new Date(this.#now().getTime() + (this.#o.rotationOverlapMs ?? 86_400_000));
    if (old) await this.#o.secrets.put(accountId, id, 'previous', old);
    await this.#o.secrets.put(accountId, id, 'current', secret);
    await this.#o.db
      .update(endpoints)
      .set({ previousSecretUntil: until, updatedAt: this.#now() })
      .where(eq(endpoints.id, id));
    return { secret, previousValidUntil: until };
  }

  /**
   * Deletes an endpoint, its secrets, and cancels its pending and held deliveries (the log keeps them until their
   * retention).
   */
  async remove(accountId: string, id: string): Promise<boolean> {
    const removed = await this.#o.db
      .delete(endpoints)
      .where(and(eq(endpoints.accountId, accountId), eq(endpoints.id, id)))
      .returning({ id: endpoints.id });
    if (!removed.length) return false;
    await this.#o.db
      .update(deliveries)
      .set({ status: 'cancelled', lastError: 'endpoint deleted' })
      .where(and(eq(deliveries.endpointId, id), inArray(deliveries.status, ['pending', 'held'])));
    await this.#o.secrets.delete(accountId, id);
    return true;
  }

  /**
   * Queues an event for every active endpoint of the account subscribed to its type, and holds it
   * for every disabled one (sent once it is enabled). Returns how many deliveries. `options.db`: a
   * transaction of the caller's, so the event is queued with the change it announces, or not at
   * all (an outbox).
   */
  async emit(
    accountId: string,
    type: string,
    data: unknown,
    options: { db?: Database | undefined } = {},
  ): Promise<number> {
    if (!this.#types.has(type)) throw new TypeError(`unknown webhook event type ${type}`);
    const db = options.db ?? this.#o.db;
    const targets = (
      await db
        .select({ id: endpoints.id, events: endpoints.events, status: endpoints.status })
        .from(endpoints)
        .where(and(eq(endpoints.accountId, accountId), inArray(endpoints.status, ['active', 'disabled'])))
    ).filter((e) => e.events.includes(type) || e.events.includes('*'));
    if (!targets.length) return 0;
    const now = this.#now();
    const payload = JSON.stringify({ type, timestamp: now.toISOString(), data });
    const rows = (held: ReadonlySet<string>) =>
      targets.map((t) => ({
        id: randomUUID(),
        endpointId: t.id,
        accountId,
        eventType: type,
        payload,
        nextAttemptAt: now,
        status: held.has(t.id) ? 'held' : 'pending',
      }));
    const disabled = targets.filter((t) => t.status === 'disabled').map((t) => t.id);
    if (!disabled.length) {
      await db.insert(deliveries).values(rows(new Set()));
    } else {
      // Rare: held or pending is decided under a share lock on the disabled endpoints (lifecycle.ts).
      await db.transaction(async (tx) => {
        const t = tx as unknown as Database;
        await t.insert(deliveries).values(rows(await stillDisabled(t, disabled)));
      });
    }
    return targets.length;
  }

  /** Claims up to `limit` due deliveries and attempts each once. Returns how many were attempted (dispatcher.ts). */
  dispatch(limit = 20): Promise<number> {
    return dispatchBatch(this.#o, this.#now, limit);
  }

  /**
   * A page of the account's endpoint's deliveries, newest first; null when the account has no such endpoint
   * (delivery-log.ts).
   */
  listDeliveries(
    accountId: string,
    endpointId: string,
    filter: DeliveryFilter = {},
  ): Promise<{ deliveries: DeliveryView[]; nextCursor: string | null } | null> {
    return listDeliveries(this.#o.db, accountId, endpointId, filter, this.#types);
  }

  /** One of the account's deliveries with its payload and attempts; null when it has none by that id. */
  getDelivery(accountId: string, id: string): Promise<DeliveryDetail | null> {
    return getDelivery(this.#o.db, accountId, id);
  }

  /**
   * Sends a delivered or failed delivery again: queued due now (held while its endpoint is
   * disabled), same id and `webhook-id`, signed afresh when sent. Null when the account has no such
   * delivery; HF_WEBHOOK_DELIVERY_NOT_RESENDABLE (409) when it is pending, held or cancelled.
   */
  async resend(accountId: string, id: string): Promise<DeliveryDetail | null> {
    if (!(await resendDelivery(this.#o.db, accountId, id, this.#now()))) return null;
    // Read as queued, before a dispatcher is woken to send it.
    const queued = await getDelivery(this.#o.db, accountId, id);
    this.#o.onQueued?.();
    return queued;
  }

  /**
   * Queues again the failed deliveries of the account's endpoint created since `since`, the oldest
   * 1,000 a call, spread over time past the first 20 (lifecycle.ts); `remaining`: how many more a
   * next call queues. Null when the account has no such endpoint.
   */
  async recover(
    accountId: string,
    endpointId: string,
    since: string | Date,
  ): Promise<{ queued: number; remaining: number; status: 'pending' | 'held' } | null> {
    const done = await recoverEndpoint(this.#o.db, accountId, endpointId, since, this.#now());
    if (done?.queued) this.#o.onQueued?.();
    return done;
  }

  /**
   * Enables the account's disabled endpoint and releases its held deliveries (the first 20 due now, the rest spread:
   * lifecycle.ts); null when it has no such endpoint.
   */
  async enable(accountId: string, id: string): Promise<{ endpoint: Endpoint; released: number } | null> {
    const done = await enableEndpoint(this.#o.db, accountId, id, this.#now());
    if (done?.released) this.#o.onQueued?.();
    return done && { endpoint: endpointView(done.endpoint), released: done.released };
  }

  /**
   * Retention (§4, class `webhook_deliveries`): deliveries settled (delivered, failed, cancelled)
   * or held, created before `before`, with their attempts, `limit` at a time; held accounts' kept.
   */
  purgeSettled(before: Date, limit: number, held: readonly string[] = [], dryRun = false): Promise<number> {
    return purgeDeliveries(this.#o.db, before, limit, held, dryRun);
  }

  /** A subject's endpoints and deliveries (personal-data export). */
  async exportAccount(accountId: string) {
    return { endpoints: await this.list(accountId), deliveries: await accountDeliveries(this.#o.db, accountId) };
  }

  /** The deliveries of an account whose payload names one contact's number (a contact's export). */
  async exportContact(accountId: string, phone: string) {
    return { deliveries: await contactDeliveries(this.#o.db, accountId, phone) };
  }

  /** Erases one contact's number from an account's deliveries (those naming it go, with their attempts). */
  eraseContact(accountId: string, phone: string): Promise<number> {
    return eraseContactDeliveries(this.#o.db, accountId, phone);
  }

  /**
   * Pauses (true) or resumes (false) an account's active endpoints: while paused nothing new is
   * queued for them and what was queued waits. Endpoints disabled for another reason stay so.
   */
  async pauseAccount(accountId: string, paused: boolean): Promise<number> {
    const [from, to] = paused ? ['active', 'paused'] : ['paused', 'active'];
    const rows = await this.#o.db
      .update(endpoints)
      .set({ status: to, updatedAt: this.#now() })
      .where(and(eq(endpoints.accountId, accountId), eq(endpoints.status, from)))
      .returning({ id: endpoints.id });
    return rows.length;
  }

  /** Erases a subject's endpoints (and their secrets), deliveries and attempts. */
  async eraseAccount(accountId: string): Promise<number> {
    const removedDeliveries = await eraseAccountDeliveries(this.#o.db, accountId);
    const removedEndpoints = await this.#o.db
      .delete(endpoints)
      .where(eq(endpoints.accountId, accountId))
      .returning({ id: endpoints.id });
    for (const e of removedEndpoints) await this.#o.secrets.delete(accountId, e.id);
    return removedDeliveries + removedEndpoints.length;
  }
}
