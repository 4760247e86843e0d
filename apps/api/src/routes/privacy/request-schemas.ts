// The JSON schemas and error lists the rights requests' routes share, and the `pendingDeletion` route option.
import { ALL_REQUEST_KINDS, REQUEST_STATUSES } from '@harakaflow/data-rights';

export const historySchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      status: { type: 'string' },
      at: { type: 'string' },
      by: { type: 'string' },
      event: { type: 'string' },
      note: { type: 'string' },
    },
  },
} as const;

/** A request as the API shows it (issue 14 item 7: public contract). */
export const requestSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    // `unclassified`: read from the privacy mailbox, its kind not clear from its text (issue 32): the admin classifies
    // it.
    kind: { enum: [...ALL_REQUEST_KINDS] },
    status: { enum: [...REQUEST_STATUSES] },
    subject: {
      type: 'object',
      properties: {
        kind: { type: 'string' },
        accountId: { type: 'string' },
        phone: { type: 'string' },
        email: { type: 'string' },
        erased: { type: 'boolean' },
      },
    },
    filedBy: { type: 'string' },
    verification: { type: ['string', 'null'] },
    details: { type: ['string', 'null'] },
    contact: { type: 'string' },
    // The language its messages are written in (issue 32 item 7): `en`, `sw`; absent: none chosen (English).
    lang: { type: 'string' },
    receivedAt: { type: 'string' },
    dueAt: { type: 'string' },
    extendedDueAt: { type: 'string' },
    extensionReason: { type: 'string' },
    history: historySchema,
    // `url` only in the account's own views: the admin's say when a live link expires, never the link.
    export: { type: 'object', properties: { url: { type: 'string' }, expiresAt: { type: 'string' } } },
    // Every field the signature covers is returned as signed (issue 30 item 8): the receipt verifies
    // with the published JWK set alone (`keyId` and `signature` aside, the canonical JSON of the
    // rest). `additionalProperties`: a field added to receipts later is never dropped by the serializer.
    receipt: {
      type: 'object',
      additionalProperties: true,
      properties: {
        requestId: { type: 'string' },
        subjectHash: { type: 'string' },
        completedAt: { type: 'string' },
        handlers: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: true,
            properties: {
              name: { type: 'string' },
              erased: { type: 'integer' },
              kept: { type: 'integer' },
              keptReason: { type: 'string' },
            },
          },
        },
        keyId: { type: 'string' },
        signature: { type: 'string' },
      },
    },
  },
} as const;

export const listSchema = {
  type: 'object',
  properties: { requests: { type: 'array', items: requestSchema }, nextCursor: { type: ['string', 'null'] } },
} as const;
export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;
export { E164_PATTERN as E164 } from '@harakaflow/core';
// The grace period of a deletion: these routes still answer the account's keys (issue 14 item 4).
/** What a rights request's routes can answer besides the common errors (data-rights' codes). */
export const REQUEST_ERRORS = {
  400: ['HF_DATA_RIGHTS_INVALID_REQUEST'],
  404: ['HF_DATA_RIGHTS_NOT_FOUND', 'HF_DATA_RIGHTS_SUBJECT_NOT_FOUND'],
  409: ['HF_DATA_RIGHTS_INVALID_TRANSITION', 'HF_DATA_RIGHTS_ALREADY_EXTENDED'],
};
export const whilePending = { auth: 'account', pendingDeletion: true, errors: REQUEST_ERRORS } as const;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route still answers an account whose deletion waits for its purge. */
    pendingDeletion?: boolean;
  }
}
