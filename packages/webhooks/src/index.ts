/**
 * @harakaflow/webhooks: the core (Standard Webhooks signing and verification, X-Hub-Signature-256
 * verification, SSRF checks, the retry schedule) as plain functions; the outbox and dispatcher on
 * Postgres; and the Fastify plugin (inbound verification with replay protection, `fastify.webhooks`).
 */
import './fastify.js';
import type { MigrationSet } from '@harakaflow/db';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import webhooks from './plugin.js';
export { WEBHOOK_ERROR_CODES, WebhookError } from './errors.js';
export type { WebhookErrorCode } from './errors.js';
export { hubSignature, verifyHubSignature } from './hub.js';
export type { HubVerifyResult } from './hub.js';
export { generateSecret, MIN_SECRET_BYTES, prepareSecret, prepareSecrets, SECRET_PREFIX } from './secrets.js';
export type { PreparedSecret } from './secrets.js';
export { assertWebhook, DEFAULT_TOLERANCE_SECONDS, signWebhook, verifyWebhook } from './standard.js';
export type { HeaderBag, Secrets, SignInput, VerifyOptions, VerifyResult, WebhookHeaders } from './standard.js';
export { checkResolved, checkUrl, DestinationError, isPublicAddress, safeLookup } from './destination.js';
export type { DestinationPolicy } from './destination.js';
export { retryDelay, RETRY_SCHEDULE_MS } from './schedule.js';
export {
  LEGACY_VAULT_SESSION,
  memorySecretStore,
  vaultSecretStore,
  VAULT_NAMESPACE,
  VAULT_SESSION,
} from './secret-store.js';
export type { SecretSlot, SecretStore, VaultLike } from './secret-store.js';
export { send, USER_AGENT } from './send.js';
export type { SendResult } from './send.js';
export { EndpointInputError, WebhookService } from './service.js';
export type { DisabledEndpoint, Endpoint, ServiceOptions } from './service-types.js';
export {
  ATTEMPTS_IN_DETAIL,
  ATTEMPTS_IN_LIST,
  DELIVERY_STATUSES,
  getDelivery,
  listDeliveries,
  webhookMessageId,
} from './delivery-log.js';
export type { AttemptView, DeliveryDetail, DeliveryFilter, DeliveryStatus, DeliveryView } from './delivery-log.js';
export { disableEndpoint, enableEndpoint, recoverEndpoint, resendDelivery } from './lifecycle.js';
export { RESPONSE_EXCERPT_BYTES, responseExcerpt } from './excerpt.js';
export { DeliveryNotResendable, InvalidQuery as InvalidDeliveryQuery } from './errors.js';
export {
  attempts as webhookAttempts,
  deliveries as webhookDeliveries,
  endpoints as webhookEndpoints,
  seen as webhookSeen,
} from './schema.js';

/** The webhooks package's migrations (schema `webhooks`). */
export const webhooksMigrations: MigrationSet = {
  name: 'webhooks',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};
export { InProgress } from './errors.js';
export type { InboundRouteConfig, InboundWebhook } from './fastify.js';
export type { WebhooksOptions } from './options.js';
export { memoryReplayStore, postgresReplayStore, redisReplayStore } from './replay.js';
export type { ClaimResult, RedisLike, ReplayStore } from './replay.js';

export const harakaflowWebhooks = fp(webhooks, { name: '@harakaflow/webhooks', fastify: '5.x' });
export default harakaflowWebhooks;
