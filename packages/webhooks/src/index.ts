/**
 * @harakaflow/webhooks, the core: Standard Webhooks signing and verification, and
 * X-Hub-Signature-256 verification, as plain functions (no Fastify, no database).
 */
export { WebhookError } from './errors.js';
export type { WebhookErrorCode } from './errors.js';
export { hubSignature, verifyHubSignature } from './hub.js';
export type { HubVerifyResult } from './hub.js';
export { generateSecret, MIN_SECRET_BYTES, prepareSecret, prepareSecrets, SECRET_PREFIX } from './secrets.js';
export type { PreparedSecret } from './secrets.js';
export { assertWebhook, DEFAULT_TOLERANCE_SECONDS, signWebhook, verifyWebhook } from './standard.js';
export type { HeaderBag, Secrets, SignInput, VerifyOptions, VerifyResult, WebhookHeaders } from './standard.js';
