/**
 * The Fastify plugin: inbound verification on routes that ask for it, and the outbound service
 * (`fastify.webhooks`) with its dispatcher loop.
 *
 * Inbound: a route with `config: { webhook: { scheme, secrets } }` gets a preParsing hook that reads
 * the raw bytes (within the route's body limit), verifies them before any parser sees the body, and
 * hands the same bytes on to the normal parser. Whatever the Content-Type says (odd casing, spaces,
 * parameters, or a type no parser takes), the verifier runs first. A replay is acknowledged with
 * 200 and `{ duplicate: true }` without running the handler, and audited.
 */
import {
  errorCodes,
  registerPersonalDataHandler,
  purgeByCount,
  registerRetentionClass,
  securityEvent,
} from '@harakaflow/core';
import { hookList } from '@harakaflow/core/internals';
import { startDispatchLoop, type DispatchLoop } from '@harakaflow/db/internals';
import {
  errorCodes as fastifyErrors,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  type RouteOptions,
} from 'fastify';
import { inArray, sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { InProgress, invalidOption, webhookError, type WebhookErrorCode } from './errors.js';
import type { InboundRouteConfig } from './fastify.js';
import './fastify.js';
import { resolveOptions, type WebhooksOptions } from './options.js';
import { verifyHubSignature } from './hub.js';
import type { VaultLike } from './secret-store.js';
import { seen } from './schema.js';
import { webhookMetrics } from './metrics.js';
import { WebhookService } from './service.js';
import { verifyWebhook } from './standard.js';

const CLAIM = Symbol('webhookClaim');
const STANDARD_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
const HUB_HEADERS = new Set(['x-hub-signature-256']);

/** Is one of `names` in the raw header list more than once? (Node joins repeats into one value.) */
function repeatedHeader(raw: readonly string[], names: ReadonlySet<string>): boolean {
  const seen = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!names.has(name)) continue;
    if (seen.has(name)) return true;
    seen.add(name);
  }
  return false;
}

const plugin: FastifyPluginAsync<WebhooksOptions> = async (fastify, options) => {
  const { db, eventTypes, tolerance, hubWindow, disableAfterDays, replay, replayInPostgres, secrets, policy } =
    resolveOptions(
      options,
      fastify.hasDecorator('vault') ? (fastify as FastifyInstance & { vault: VaultLike }).vault : undefined,
    );

  const reported = webhookMetrics(fastify, db);
  let loop: DispatchLoop | undefined;
  const service = new WebhookService({
    db,
    secrets,
    policy,
    eventTypes,
    disableAfterDays,
    rotationOverlapMs: options.rotationOverlapMs,
    onAttempt: (a) => reported.attempts.inc({ outcome: a.outcome }),
    onDisabled: async (e) => {
      // Issue 34 item 3: loud, never silent. The audit event, then the app's notice (an email), each
      // tried on its own: a failing audit write does not cost the account its notice (review L3).
      // Both come after the disabling commits: a crash in between loses them (README, threat model).
      const reason = e.reason === 'gone' ? '410 Gone' : `failing for ${disableAfterDays} days`;
      try {
        await securityEvent(fastify, undefined, {
          action: 'webhook.endpoint.disabled',
          resource: `webhook-endpoint:${e.id}`,
          subjectId: e.accountId,
          details: { reason, held: e.held },
        });
      } catch (error) {
        fastify.log.error({ err: errorCodes(error) }, 'webhooks: could not audit a disabled endpoint');
      }
      try {
        await options.onEndpointDisabled?.(e);
      } catch (error) {
        fastify.log.error({ err: errorCodes(error) }, 'webhooks: could not report a disabled endpoint');
      }
    },
    // A delivery queued again (resend, recover, enable) need not wait for the loop's interval.
    onQueued: () => loop?.kick(),
  });
  fastify.decorate('webhooks', service);
  fastify.decorateRequest('webhook', null);
  // §4 (contract 5b): settled and held deliveries and their attempts are kept 30 days; replay keys their window.
  registerRetentionClass(fastify, {
    name: 'webhook_deliveries',
    policyClause:
      '§4 (service data): webhook deliveries (held ones too) and their attempts, 30 days after they were made',
    periodDays: 30,
    purgeBatch: purgeByCount((b) => service.purgeSettled(b.cutoff, b.limit, b.heldSubjects, b.dryRun)),
  });
  if (replayInPostgres) {
    registerRetentionClass(fastify, {
      name: 'webhook_replay',
      policyClause: '§3 (replay protection): inbound delivery ids, kept for their replay window only',
      // Not a period of days: a key goes when its window has passed (`expires_at`).
      periodDays: 1,
      purgeBatch: async (b) => {
        const expired = sql`${seen.expiresAt} < now()`;
        if (b.dryRun)
          return {
            rows: Number(
              (
                await db
                  .select({ n: sql<number>`count(*)::int` })
                  .from(seen)
                  .where(expired)
              )[0]?.n ?? 0,
            ),
            done: true,
          };
        const keys = db.select({ key: seen.key }).from(seen).where(expired).limit(b.limit);
        const rows = (await db.delete(seen).where(inArray(seen.key, keys)).returning({ key: seen.key })).length;
        return { rows, done: rows < b.limit };
      },
    });
  }
  registerPersonalDataHandler(fastify, {
    name: 'webhooks',
    // A contact's number can appear in a delivery's payload (message.accepted names its recipient).
    identifiers: ['account', 'contact'],
    // A legal hold on the subject for this class keeps its deliveries (and endpoints) through an erasure.
    retentionClasses: ['webhook_deliveries'],
    withheld: 'endpoint signing secrets (kept in the vault, never exported)',
    exportSubject: (ref) =>
      ref.kind === 'contact'
        ? service.exportContact(ref.accountId, ref.phone)
        : service.exportAccount((ref as { accountId: string }).accountId),
    eraseSubject: async (ref) =>
      ref.kind === 'contact'
        ? { erased: await service.eraseContact(ref.accountId, ref.phone) }
        : { erased: await service.eraseAccount((ref as { accountId: string }).accountId) },
  });

  // Inbound: hooks only on the routes that ask for them, made when the route is declared (its URL
  // and body limit are read once here, not per request).
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config as { webhook?: InboundRouteConfig } | undefined)?.webhook;
    if (!config) return;
    if (
      (config.scheme !== 'standard' && config.scheme !== 'meta') ||
      !(Array.isArray(config.secrets) || typeof config.secrets === 'function')
    ) {
      throw invalidOption(`config.webhook of ${route.url}`, "must be { scheme: 'standard' | 'meta', secrets }");
    }
    const limit = route.bodyLimit ?? fastify.initialConfig.bodyLimit ?? 1_048_576;
    route.preParsing = [...hookList(route.preParsing), verifyHook(config, route.url, limit)];
    route.preHandler = [replayHook(route.url), ...hookList(route.preHandler)];
    // Settled before the response leaves (onSend, awaited), so a sender that retries the moment it
    // reads our answer already finds the claim completed or released (issue 13 item 14); onResponse
    // settles only what onSend never saw (a reply that failed before its payload was sent).
    route.onSend = [...hookList(route.onSend), settleOnSend];
    route.onResponse = [...hookList(route.onResponse), settleHook];
  });

  function verifyHook(config: InboundRouteConfig, url: string, limit: number) {
    return async (request: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream) => {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of payload as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit) throw new fastifyErrors.FST_ERR_CTP_BODY_TOO_LARGE();
        chunks.push(chunk);
      }
      const raw = Buffer.concat(chunks, size);
      const names = config.scheme === 'standard' ? STANDARD_HEADERS : HUB_HEADERS;
      if (repeatedHeader(request.raw.rawHeaders, names)) return refuse(request, url, 'HF_WEBHOOK_DUPLICATE_HEADER');
      const keys = typeof config.secrets === 'function' ? await config.secrets() : config.secrets;
      let id: string;
      if (config.scheme === 'standard') {
        const result = verifyWebhook(raw, request.headers, keys, { toleranceSeconds: tolerance });
        if (!result.ok) return refuse(request, url, result.code);
        id = result.id;
      } else {
        const result = verifyHubSignature(raw, request.headers['x-hub-signature-256'], keys);
        if (!result.ok) return refuse(request, url, result.code);
        id = createHash('sha256').update(raw).digest('hex'); // Meta's deliveries carry no id
      }
      request.webhook = { scheme: config.scheme, id, rawBody: raw };
      const stream = Readable.from([raw]) as Readable & { receivedEncodedLength?: number };
      stream.receivedEncodedLength = raw.length;
      return stream;
    };
  }

  async function refuse(request: FastifyRequest, url: string, code: WebhookErrorCode): Promise<never> {
    await securityEvent(fastify, request, {
      action: 'webhook.inbound.refused',
      resource: url,
      outcome: 'denied',
      details: { code },
    });
    throw webhookError(code);
  }

  function replayHook(url: string) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const webhook = request.webhook!;
      const windowMs = (webhook.scheme === 'standard' ? tolerance * 2 : hubWindow) * 1000;
      const key = `${webhook.scheme}:${url}:${webhook.id}`;
      const state = await replay.claim(key, windowMs);
      if (state === 'new') {
        (request as FastifyRequest & { [CLAIM]?: { key: string; windowMs: number } })[CLAIM] = { key, windowMs };
        return;
      }
      await securityEvent(fastify, request, {
        action: 'webhook.inbound.duplicate',
        resource: url,
        outcome: 'success',
        details: { scheme: webhook.scheme, state },
      });
      if (state === 'processing') throw new InProgress();
      return reply.code(200).send({ duplicate: true });
    };
  }

  async function settleHook(request: FastifyRequest, reply: FastifyReply) {
    const holder = request as FastifyRequest & { [CLAIM]?: { key: string; windowMs: number } | undefined };
    const claim = holder[CLAIM];
    if (!claim) return;
    holder[CLAIM] = undefined;
    try {
      // A handler that failed (5xx) releases the delivery so the sender's retry is processed.
      if (reply.statusCode >= 500) await replay.release(claim.key);
      else await replay.complete(claim.key, claim.windowMs);
    } catch (error) {
      // The claim then expires with its window; the answer already written stays true for the sender.
      request.log.error({ err: errorCodes(error) }, 'webhooks: could not settle an inbound delivery');
    }
  }

  async function settleOnSend(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
    await settleHook(request, reply);
    return payload;
  }

  // Outbound: the dispatcher loop, one batch at a time, stopped on close.
  if (options.dispatch !== false) {
    const intervalMs = options.dispatch?.intervalMs ?? 1000;
    const batch = options.dispatch?.batch ?? 20;
    fastify.addHook('onReady', async () => {
      loop = startDispatchLoop({
        intervalMs,
        batch,
        dispatch: (n) => service.dispatch(n),
        onError: (error) => fastify.log.error({ err: errorCodes(error) }, 'webhooks: dispatch failed'),
      });
    });
    fastify.addHook('onClose', async () => {
      await loop?.stop();
    });
  }
};

export default plugin;
