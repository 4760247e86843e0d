/**
 * @harakaflow/webhooks: the core (Standard Webhooks signing and verification, X-Hub-Signature-256
 * verification, SSRF checks, the retry schedule) as plain functions; the outbox and dispatcher on
 * Postgres; and the Fastify plugin (inbound verification with replay protection, `fastify.webhooks`).
 * What the kit's own packages and app share beyond this is in `./internals.ts` (not a stable API).
 */
import './fastify.js';
import type { MigrationSet } from '@harakaflow/db';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import webhooks from './plugin.js';
export {
  BadSecret,
  BadSignature,
  DuplicateHeader,
  InProgress,
  MissingHeader,
  TimestampOutOfRange,
  WEBHOOK_ERROR_CODES,
  WebhookError,
} from './errors.js';
export type { WebhookErrorCode, WebhooksErrorCode } from './errors.js';
export { hubSignature, verifyHubSignature } from './hub.js';
export type { HubVerifyResult } from './hub.js';
export { generateSecret } from './secrets.js';
export { assertWebhook, signWebhook, verifyWebhook } from './standard.js';
export type { HeaderBag, Secrets, SignInput, VerifyOptions, VerifyResult, WebhookHeaders } from './standard.js';
export { checkResolved, checkUrl, DestinationError, safeLookup } from './destination.js';
export type { DestinationPolicy } from './destination.js';
export { memorySecretStore, vaultSecretStore } from './secret-store.js';
export type { SecretSlot, SecretStore, VaultLike } from './secret-store.js';
export { send } from './send.js';
export type { SendResult } from './send.js';
export { EndpointInputError, WebhookService } from './service.js';
export type { DisabledEndpoint, Endpoint, ServiceOptions } from './service-types.js';
export { getDelivery, listDeliveries } from './delivery-log.js';
export type { AttemptView, DeliveryDetail, DeliveryFilter, DeliveryStatus, DeliveryView } from './delivery-log.js';
export { DeliveryNotResendable, InvalidQuery as InvalidDeliveryQuery } from './errors.js';

/** The webhooks package's migrations (schema `webhooks`). */
export const webhooksMigrations: MigrationSet = {
  name: 'webhooks',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};
export type { InboundRouteConfig, InboundWebhook } from './fastify.js';
export type { WebhooksOptions } from './options.js';
export { redisReplayStore } from './replay.js';
export type { ClaimResult, RedisLike, ReplayStore } from './replay.js';

export const harakaflowWebhooks = fp(webhooks, { name: '@harakaflow/webhooks', fastify: '5.x' });
export default harakaflowWebhooks;
