/**
 * `@harakaflow/db/internals`: what the kit's own packages and reference app share beyond the public
 * API (the outbox helpers notify and webhooks dispatch with, the error class). Not a stable API: it
 * may change in any release.
 */
export { DatabaseError } from './errors.js';
export { claimDue, retryDelay, startDispatchLoop } from './outbox.js';
export type { ClaimOptions, DispatchLoop, OutboxTable } from './outbox.js';
