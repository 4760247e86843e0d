// @fastify/cookie's declarations (request.cookies, reply.setCookie) are part of this plugin's contract.
import type {} from '@fastify/cookie';
import type { ConsentState } from './evaluate.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The consent ledger's operations outside a request (data rights: withdrawal for a subject). */
    consentLedger: {
      /**
       * Withdraws every consent of a subject (each consent id it ever decided under): one `withdraw`
       * record per consent id, committed before it resolves. Returns the records written. A
       * consent cookie a browser still holds is that browser's own copy, not reached from here:
       * the person withdraws there too with DELETE on the consent routes.
       */
      withdrawSubject(subjectId: string): Promise<number>;
    };
  }
  interface FastifyInstance {
    /**
     * Records a visitor's decision outside the consent routes (a host's own form: the privacy
     * centre's no-JavaScript banner), exactly as PUT on them does: `{ analytics: false }` checked
     * strictly (HF_CONSENT_INVALID_BODY), appended to the ledger, the cookie issued, the cookies
     * of refused categories expired.
     */
    consentDecide(
      request: FastifyRequest,
      reply: FastifyReply,
      decisions: Record<string, boolean>,
    ): Promise<ConsentState>;
  }
  interface FastifyRequest {
    /**
     * This request's consent: categories, source, policy version, re-acceptance, `allows(category)`. Computed on first
     * use.
     */
    readonly consent: ConsentState;
  }
}
