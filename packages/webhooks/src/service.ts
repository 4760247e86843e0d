/**
 * Endpoints, the outbox and the dispatcher, on Postgres (schema `webhooks`).
 *
 * - emit() writes one delivery per subscribed endpoint; nothing is sent on the caller's path.
 * - dispatch() claims due deliveries with FOR UPDATE SKIP LOCKED and a lease (the claim moves
 *   next_attempt_at past the send timeout), so several replicas each deliver a message once, and a
 *   replica that dies mid-send releases its claim when the lease ends.
 * - Each attempt is recorded; 2xx delivers, 410 disables the endpoint and cancels what it had
 *   pending, anything else (3xx included: redirects are not followed) retries on RETRY_SCHEDULE_MS.
 */
import { claimDue, type Database } from '@harakaflow/db';
import { and, asc, eq, inArray, like, sql, type SQL } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { checkResolved, checkUrl, type DestinationPolicy } from './destination.js';
import { retryDelay, RETRY_SCHEDULE_MS } from './schedule.js';
import type { SecretStore } from './secret-store.js';
import { generateSecret } from './secrets.js';
import { send, type SendResult } from './send.js';
import { signWebhook } from './standard.js';
import { attempts, deliveries, endpoints } from './schema.js';
import { EndpointInputError } from './errors.js';

export interface Endpoint {
  id: string;
  url: string;
  events: string[];
  status: string;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ServiceOptions {
  db: Database;
  secrets: SecretStore;
  policy?: DestinationPolicy | undefined;
  /** Event types endpoints may subscribe to ('*' subscribes to all). */
  eventTypes: readonly string[];
  /** How long the previous secret still signs after a rotation, ms. Default 24 h. */
  rotationOverlapMs?: number | undefined;
  sendTimeoutMs?: number | undefined;
  schedule?: readonly number[] | undefined;
  now?: () => Date;
  /** Called after every attempt (audit, metrics). */
  onAttempt?: ((info: { deliveryId: string; endpointId: string; accountId: string; result: SendResult; outcome: 'delivered' | 'retry' | 'failed' | 'gone' }) => void) | undefined;
  /** Called when a 410 disables an endpoint. */
  onDisabled?: ((endpoint: { id: string; accountId: string }) => void) | undefined;
}

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
    if (!Array.isArray(events) || !events.length || events.length > 50) throw new EndpointInputError('"events" must list 1 to 50 event types');
    for (const e of events) {
      if (e !== '*' && !this.#types.has(e as string)) throw new EndpointInputError(`"events": unknown event type (known: ${[...this.#types].join(', ')}, or *)`);
    }
    return [...new Set(events as string[])];
  }

  /** A new endpoint and its secret, which is returned once and stored only in the secret store. */
  async create(accountId: string, input: { url: string; events: string[] }): Promise<{ endpoint: Endpoint; secret: string }> {
    const url = checkUrl(input.url, this.#o.policy);
    await checkResolved(url, this.#o.policy);
    const events = this.#checkEvents(input.events);
    const [{ n } = { n: 0 }] = await this.#o.db.select({ n: sql<number>`count(*)::int` }).from(endpoints).where(eq(endpoints.accountId, accountId));
    if (n >= MAX_ENDPOINTS_PER_ACCOUNT) throw new EndpointInputError(`at most ${MAX_ENDPOINTS_PER_ACCOUNT} endpoints per account`);
    const id = randomUUID();
    const secret = generateSecret();
    await this.#o.secrets.put(accountId, id, 'current', secret);
    const [row] = await this.#o.db.insert(endpoints).values({ id, accountId, url: url.toString(), events }).returning();
    return { endpoint: view(row!), secret };
  }

  async list(accountId: string): Promise<Endpoint[]> {
    const rows = await this.#o.db.select().from(endpoints).where(eq(endpoints.accountId, accountId)).orderBy(asc(endpoints.createdAt));
    return rows.map(view);
  }

  /** A new secret; the old one keeps signing (both signatures on every delivery) for the overlap. */
  async rotate(accountId: string, id: string): Promise<{ secret: string; previousValidUntil: Date } | null> {
    const [row] = await this.#o.db.select().from(endpoints).where(and(eq(endpoints.accountId, accountId), eq(endpoints.id, id)));
    if (!row) return null;
    const old = await this.#o.secrets.get(accountId, id, 'current');
    const secret = generateSecret();
    const until = new Date(this.#now().getTime() + (this.#o.rotationOverlapMs ?? 86_400_000));
    if (old) await this.#o.secrets.put(accountId, id, 'previous', old);
    await this.#o.secrets.put(accountId, id, 'current', secret);
    await this.#o.db.update(endpoints).set({ previousSecretUntil: until, updatedAt: this.#now() }).where(eq(endpoints.id, id));
    return { secret, previousValidUntil: until };
  }

  /** Deletes an endpoint, its secrets and its pending deliveries. */
  async remove(accountId: string, id: string): Promise<boolean> {
    const removed = await this.#o.db.delete(endpoints).where(and(eq(endpoints.accountId, accountId), eq(endpoints.id, id))).returning({ id: endpoints.id });
    if (!removed.length) return false;
    await this.#o.db.update(deliveries).set({ status: 'cancelled', lastError: 'endpoint deleted' }).where(and(eq(deliveries.endpointId, id), eq(deliveries.status, 'pending')));
    await this.#o.secrets.delete(accountId, id);
    return true;
  }

  /**
   * Queues an event for every active endpoint of the account subscribed to its type. Returns how
   * many. `options.db`: a transaction of the caller's, so the event is queued with the change it
   * announces, or not at all (an outbox).
   */
  async emit(accountId: string, type: string, data: unknown, options: { db?: Database | undefined } = {}): Promise<number> {
    if (!this.#types.has(type)) throw new TypeError(`unknown webhook event type ${type}`);
    const db = options.db ?? this.#o.db;
    const targets = (await db.select({ id: endpoints.id, events: endpoints.events }).from(endpoints).where(and(eq(endpoints.accountId, accountId), eq(endpoints.status, 'active')))).filter(
      (e) => e.events.includes(type) || e.events.includes('*'),
    );
    if (!targets.length) return 0;
    const now = this.#now();
    const payload = JSON.stringify({ type, timestamp: now.toISOString(), data });
    await db.insert(deliveries).values(targets.map((t) => ({ id: randomUUID(), endpointId: t.id, accountId, eventType: type, payload, nextAttemptAt: now })));
    return targets.length;
  }

  /** Claims up to `limit` due deliveries and attempts each once. Returns how many were attempted. */
  async dispatch(limit = 20): Promise<number> {
    const now = this.#now();
    const timeout = this.#o.sendTimeoutMs ?? 15_000;
    // The lease: a claimed delivery is not due again before the send has surely ended.
    const lease = new Date(now.getTime() + timeout * 2 + 5_000);
    const claimed = await claimDue(this.#o.db, deliveries, { pending: 'pending', now, leaseUntil: lease, limit });
    if (!claimed.length) return 0;
    // One read of the batch's endpoints, and of each endpoint's secrets (a vault decryption each),
    // however many of its deliveries the batch holds.
    const ids = [...new Set(claimed.map((d) => d.endpointId))];
    const rows = new Map((await this.#o.db.select().from(endpoints).where(inArray(endpoints.id, ids))).map((e) => [e.id, e]));
    const secrets = new Map<string, Promise<string[]>>();
    for (const e of rows.values()) if (e.status === 'active') secrets.set(e.id, this.#signingSecrets(e, now));
    await Promise.all(claimed.map((d) => this.#attempt(d, rows.get(d.endpointId), secrets.get(d.endpointId))));
    return claimed.length;
  }

  /** The secrets that sign an endpoint's deliveries now: the current one, and the previous during the overlap. */
  async #signingSecrets(endpoint: typeof endpoints.$inferSelect, now: Date): Promise<string[]> {
    const list = [await this.#o.secrets.get(endpoint.accountId, endpoint.id, 'current')];
    if (endpoint.previousSecretUntil && endpoint.previousSecretUntil > now) list.push(await this.#o.secrets.get(endpoint.accountId, endpoint.id, 'previous'));
    return list.filter((s): s is string => !!s);
  }

  async #attempt(d: typeof deliveries.$inferSelect, endpoint: typeof endpoints.$inferSelect | undefined, signing: Promise<string[]> | undefined): Promise<void> {
    if (endpoint?.status === 'paused') {
      // Held while its account is paused (a deletion in its grace period): tried again later, not lost.
      await this.#o.db.update(deliveries).set({ nextAttemptAt: new Date(this.#now().getTime() + PAUSED_RETRY_MS) }).where(eq(deliveries.id, d.id));
      return;
    }
    if (!endpoint || endpoint.status !== 'active' || !signing) {
      await this.#o.db.update(deliveries).set({ status: 'cancelled', lastError: 'endpoint disabled or deleted' }).where(eq(deliveries.id, d.id));
      return;
    }
    const now = this.#now();
    let usable: string[] = [];
    let secretError: string | null = null;
    try {
      usable = await signing;
    } catch (error) {
      // A secret that cannot be opened (a damaged record, a KEK gone) is a failed attempt with its
      // code, on the retry schedule: never a delivery left pending with no attempt.
      const code = (error as { code?: unknown }).code;
      secretError = typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'HF_WEBHOOK_SECRET_UNAVAILABLE';
    }
    let result: SendResult;
    if (secretError) {
      result = { statusCode: null, error: secretError, durationMs: 0 };
    } else if (!usable.length) {
      result = { statusCode: null, error: 'HF_WEBHOOK_NO_SECRET', durationMs: 0 };
    } else {
      // The message id is the delivery id: the same on every retry, so receivers can de-duplicate.
      const headers = signWebhook({ id: `msg_${d.id.replace(/-/g, '')}`, timestamp: now, payload: d.payload, secrets: usable });
      result = await send(endpoint.url, { ...headers }, d.payload, this.#o.policy ?? {}, this.#o.sendTimeoutMs ?? 15_000);
    }
    await this.#o.db.insert(attempts).values({ id: randomUUID(), deliveryId: d.id, attemptedAt: now, statusCode: result.statusCode, error: result.error, durationMs: result.durationMs });
    let outcome: 'delivered' | 'retry' | 'failed' | 'gone';
    if (result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300) {
      outcome = 'delivered';
      await this.#o.db.update(deliveries).set({ status: 'delivered', deliveredAt: this.#now(), lastStatusCode: result.statusCode, lastError: null }).where(eq(deliveries.id, d.id));
    } else if (result.statusCode === 410) {
      outcome = 'gone';
      await this.#o.db.update(endpoints).set({ status: 'disabled', disabledReason: 'the endpoint answered 410 Gone', updatedAt: this.#now() }).where(eq(endpoints.id, endpoint.id));
      await this.#o.db.update(deliveries).set({ status: 'cancelled', lastStatusCode: 410, lastError: 'endpoint gone' }).where(and(eq(deliveries.endpointId, endpoint.id), inArray(deliveries.status, ['pending'])));
      this.#o.onDisabled?.({ id: endpoint.id, accountId: endpoint.accountId });
    } else {
      const delay = retryDelay(d.attempts, this.#o.schedule ?? RETRY_SCHEDULE_MS);
      outcome = delay === null ? 'failed' : 'retry';
      await this.#o.db
        .update(deliveries)
        .set(
          delay === null
            ? { status: 'failed', lastStatusCode: result.statusCode, lastError: result.error }
            : { nextAttemptAt: new Date(now.getTime() + delay), lastStatusCode: result.statusCode, lastError: result.error },
        )
        .where(eq(deliveries.id, d.id));
    }
    this.#o.onAttempt?.({ deliveryId: d.id, endpointId: endpoint.id, accountId: d.accountId, result, outcome });
  }

  /**
   * Retention (§4, class `webhook_deliveries`): deliveries settled (delivered, failed, cancelled)
   * and created before `before`, with their attempts, `limit` at a time; held accounts' kept.
   */
  async purgeSettled(before: Date, limit: number, held: readonly string[] = [], dryRun = false): Promise<number> {
    const where = and(
      inArray(deliveries.status, ['delivered', 'failed', 'cancelled']),
      sql`${deliveries.createdAt} < ${before.toISOString()}::timestamptz`,
      held.length ? sql`${deliveries.accountId} not in (${sql.join(held.map((h) => sql`${h}`), sql`, `)})` : undefined,
    );
    if (dryRun) return Number((await this.#o.db.select({ n: sql<number>`count(*)::int` }).from(deliveries).where(where))[0]?.n ?? 0);
    const ids = (await this.#o.db.select({ id: deliveries.id }).from(deliveries).where(where).limit(limit)).map((r) => r.id);
    if (!ids.length) return 0;
    await this.#o.db.delete(attempts).where(inArray(attempts.deliveryId, ids));
    return (await this.#o.db.delete(deliveries).where(inArray(deliveries.id, ids)).returning({ id: deliveries.id })).length;
  }

  /** A subject's endpoints and deliveries (personal-data export). */
  async exportAccount(accountId: string) {
    return { endpoints: await this.list(accountId), deliveries: await this.#deliveriesWhere(eq(deliveries.accountId, accountId)) };
  }

  /** The deliveries of an account whose payload names one contact's number (a contact's export). */
  async exportContact(accountId: string, phone: string) {
    return { deliveries: await this.#deliveriesWhere(namingContact(accountId, phone)) };
  }

  async #deliveriesWhere(where: SQL | undefined) {
    const sent = await this.#o.db
      .select({ id: deliveries.id, endpointId: deliveries.endpointId, eventType: deliveries.eventType, status: deliveries.status, attempts: deliveries.attempts, createdAt: deliveries.createdAt, deliveredAt: deliveries.deliveredAt, payload: deliveries.payload })
      .from(deliveries)
      .where(where)
      .orderBy(asc(deliveries.createdAt));
    return sent.map((d) => ({ ...d, payload: JSON.parse(d.payload) as unknown }));
  }

  /**
   * Erases one contact's number from an account's deliveries: every delivery whose payload names it
   * (as a JSON string) goes, with its attempts; the account's other deliveries stay.
   */
  async eraseContact(accountId: string, phone: string): Promise<number> {
    const ids = (await this.#o.db.select({ id: deliveries.id }).from(deliveries).where(namingContact(accountId, phone))).map((r) => r.id);
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      await this.#o.db.delete(attempts).where(inArray(attempts.deliveryId, chunk));
      await this.#o.db.delete(deliveries).where(inArray(deliveries.id, chunk));
    }
    return ids.length;
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
    const ids = (await this.#o.db.select({ id: deliveries.id }).from(deliveries).where(eq(deliveries.accountId, accountId))).map((r) => r.id);
    for (let i = 0; i < ids.length; i += 1000) await this.#o.db.delete(attempts).where(inArray(attempts.deliveryId, ids.slice(i, i + 1000)));
    const removedDeliveries = await this.#o.db.delete(deliveries).where(eq(deliveries.accountId, accountId)).returning({ id: deliveries.id });
    const removedEndpoints = await this.#o.db.delete(endpoints).where(eq(endpoints.accountId, accountId)).returning({ id: endpoints.id });
    for (const e of removedEndpoints) await this.#o.secrets.delete(accountId, e.id);
    return removedDeliveries.length + removedEndpoints.length;
  }
}

/**
 * An account's deliveries whose payload names a contact's number as a JSON string. An E.164 number
 * is `+` and digits: nothing in it is a LIKE wildcard.
 */
const namingContact = (accountId: string, phone: string) => and(eq(deliveries.accountId, accountId), like(deliveries.payload, `%${JSON.stringify(phone)}%`));

/** How long a delivery of a paused endpoint waits before it is looked at again. */
const PAUSED_RETRY_MS = 3_600_000;

function view(row: typeof endpoints.$inferSelect): Endpoint {
  return { id: row.id, url: row.url, events: row.events, status: row.status, disabledReason: row.disabledReason, createdAt: row.createdAt, updatedAt: row.updatedAt };
}
