/**
 * The messages of a request read from the privacy mailbox (issue 32), for the admin: the list
 * (ids, times, sizes, why a sender was not answered; never their text) and each received message as
 * it arrived, `message/rfc822` as an attachment, never rendered: a sandboxing CSP, nosniff and no
 * caching, so no browser shows it as a page. Reading one is audited.
 */
import { MessageNotKept } from '../../http/errors.js';
import type { Routes } from '../../http/schema-types.js';

const params = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } as const;
const REQUEST_ERRORS = { 404: ['HF_DATA_RIGHTS_NOT_FOUND'] };

const requestMessages: Routes = async (app) => {
  app.get(
    '/v1/admin/privacy/requests/:id/messages',
    {
      config: { auth: 'admin', ageGate: false, errors: REQUEST_ERRORS },
      schema: {
        tags: ['admin'],
        summary:
          "A request's messages: those it came in by or that joined its thread (`in`), and the notifications sent about it (`out`); ids, times, sizes, why unanswered",
        security: [{ bearer: [] }],
        params,
        response: {
          200: {
            type: 'object',
            properties: {
              messages: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    direction: { enum: ['in', 'out'] },
                    at: { type: 'string' },
                    size: { type: ['integer', 'null'] },
                    unanswered: { type: ['string', 'null'] },
                    sealed: { type: 'boolean' },
                  },
                },
              },
            },
          },
        },
      } as const,
    },
    async (request) => {
      await app.dataRights.get(request.params.id);
      return { messages: await app.dataRights.intake.messagesOf(request.params.id) };
    },
  );

  app.get(
    '/v1/admin/privacy/requests/:id/messages/:messageId',
    {
      config: { auth: 'admin', ageGate: false, errors: REQUEST_ERRORS },
      schema: {
        tags: ['admin'],
        summary:
          'A received message as it arrived (message/rfc822, an attachment, never rendered): the evidence of what was asked; audited',
        security: [{ bearer: [] }],
        params: {
          type: 'object',
          required: ['id', 'messageId'],
          properties: { id: { type: 'string', format: 'uuid' }, messageId: { type: 'string', format: 'uuid' } },
        },
        response: {
          200: { description: 'The raw message', content: { 'message/rfc822': { schema: { type: 'string' } } } },
        },
      } as const,
    },
    async (request, reply) => {
      const raw = await app.dataRights.intake.evidenceOf(request.params.id, request.params.messageId);
      if (!raw) throw new MessageNotKept();
      void request.audit.record({
        action: 'data_rights.request.message.read',
        resource: `privacy-request:${request.params.id}`,
        outcome: 'success',
        details: { message: request.params.messageId },
      });
      return reply
        .type('message/rfc822')
        .header(
          'content-disposition',
          `attachment; filename="request-${request.params.id}-${request.params.messageId}.eml"`,
        )
        .header('content-security-policy', "sandbox; default-src 'none'")
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .send(raw);
    },
  );
};

export default requestMessages;
