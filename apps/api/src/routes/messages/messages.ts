import { E164_PATTERN, isRestricted } from '@harakaflow/core';
import { Restricted } from '@harakaflow/data-rights';
import type { Database } from '@harakaflow/db';
import { randomUUID } from 'node:crypto';
import { idempotencyHooks } from '../../data/idempotency.js';
import { messageLog } from '../../data/schema.js';
import type { Routes } from '../../http/schema-types.js';

/**
 * POST /v1/messages, the backend's send endpoint: validates the message, records it in
 * `app.message_log` (recipient and length, not the text) and tells the account's webhook endpoints
 * (`message.accepted`). The WhatsApp send itself is outside this kit.
 */
const messageRoutes: Routes<{ db: Database }> = async (app, { db }) => {
  // Idempotency-Key: a retried send answers the first response and sends nothing (idempotency.ts).
  // Claimed before validation and the messages quota, so a replay costs no message.
  const idempotency = idempotencyHooks(db);
  app.post(
    '/v1/messages',
    {
      // Each accepted message counts against the plan's messages per day (after validation).
      // Fail-closed: with the quota store unreachable the send is refused (503), so the day limit
      // holds across replicas; the in-memory insurance limiter would let each replica count alone.
      config: {
        auth: 'account',
        quota: { messages: 1, failClosed: true },
        errors: {
          400: ['HF_IDEMPOTENCY_KEY_INVALID'],
          403: ['HF_DATA_RIGHTS_RESTRICTED'],
          409: ['HF_IDEMPOTENCY_KEY_IN_PROGRESS'],
          422: ['HF_IDEMPOTENCY_KEY_REUSED'],
          503: ['HF_QUOTA_UNAVAILABLE'],
        },
      },
      preValidation: idempotency.preValidation,
      onSend: idempotency.onSend,
      schema: {
        tags: ['messages'],
        summary: 'Accept a WhatsApp message for sending (with Idempotency-Key: once per key and account for 24 hours)',
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', maxLength: 300 } } },
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['sessionId', 'to', 'text'],
          additionalProperties: false,
          properties: {
            sessionId: { type: 'string', pattern: '^[A-Za-z0-9._:@-]{1,128}$' },
            // E.164: a plus, then up to 15 digits, not starting with 0.
            to: { type: 'string', pattern: E164_PATTERN },
            text: { type: 'string', minLength: 1, maxLength: 4096, pattern: '\\S' },
          },
        },
        response: {
          202: {
            type: 'object',
            properties: { messageId: { type: 'string' }, status: { type: 'string' }, acceptedAt: { type: 'string' } },
          },
        },
      } as const,
    },
    async (request, reply) => {
      const accountId = request.account!.id;
      // Restriction of processing (§6): the account asked that nothing more be done with its data.
      if (await isRestricted(app, accountId)) throw new Restricted();
      const { sessionId, to, text } = request.body;
      const id = randomUUID();
      // The message, its webhook deliveries and the Idempotency-Key's answer commit together: a
      // send whose answer is lost (the database gone before the response) is replayed, never sent
      // twice, and never accepted without its webhook.
      const answer = await db.transaction(async (transaction) => {
        const tx = transaction as unknown as Database;
        const [row] = await tx
          .insert(messageLog)
          .values({ id, accountId, sessionId, to, chars: [...text].length })
          .returning({ createdAt: messageLog.createdAt });
        const acceptedAt = row!.createdAt.toISOString();
        await app.webhooks.emit(
          accountId,
          'message.accepted',
          { messageId: id, sessionId, to, acceptedAt },
          { db: tx },
        );
        const body = { messageId: id, status: 'accepted', acceptedAt };
        await idempotency.complete(request, tx, 202, body);
        return body;
      });
      return reply.code(202).send(answer);
    },
  );
};

export default messageRoutes;
