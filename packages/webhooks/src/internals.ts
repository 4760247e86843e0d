/**
 * `@harakaflow/webhooks/internals`: what the kit's own tests, benchmarks and reference app reach
 * beyond the public API (secret preparation, the retry schedule, the vault slots, the delivery log's
 * limits and lifecycle steps, the tables, the built-in replay stores). Not a stable API: it may
 * change in any release.
 */
export { DEFAULT_TOLERANCE_SECONDS } from './standard.js';
export { isPublicAddress } from './destination.js';
export { MIN_SECRET_BYTES, prepareSecret, prepareSecrets, SECRET_PREFIX } from './secrets.js';
export type { PreparedSecret } from './secrets.js';
export { retryDelay, RETRY_SCHEDULE_MS } from './schedule.js';
export { LEGACY_VAULT_SESSION, VAULT_NAMESPACE, VAULT_SESSION } from './secret-store.js';
export { USER_AGENT } from './send.js';
export { ATTEMPTS_IN_DETAIL, ATTEMPTS_IN_LIST, DELIVERY_STATUSES, webhookMessageId } from './delivery-log.js';
export { disableEndpoint, enableEndpoint, recoverEndpoint, resendDelivery } from './lifecycle.js';
export { RESPONSE_EXCERPT_BYTES, responseExcerpt } from './excerpt.js';
export {
  attempts as webhookAttempts,
  deliveries as webhookDeliveries,
  endpoints as webhookEndpoints,
  seen as webhookSeen,
} from './schema.js';
export { memoryReplayStore, postgresReplayStore } from './replay.js';
