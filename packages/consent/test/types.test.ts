// The public types of @harakaflow/consent, as a user imports them (checked by tsc, run by vitest).
import type { Database } from '@harakaflow/db';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import consent, {
  harakaflowConsent,
  InvalidBody,
  type ConsentErrorCode,
  type ConsentOptions,
  type ConsentState,
  type PolicyVersionInput,
} from '@harakaflow/consent';

describe('types', () => {
  it('options: secrets, db and policies required, the rest optional, wrong types rejected', () => {
    expectTypeOf<{
      secrets: string[];
      db: Database;
      policies: PolicyVersionInput[];
    }>().toExtend<ConsentOptions>();
    expectTypeOf<ConsentOptions['defaultAnalytics']>().toEqualTypeOf<'granted' | 'denied' | undefined>();
    // @ts-expect-error policies are required
    const noPolicies: ConsentOptions = { secrets: [], db: {} as Database };
    // @ts-expect-error gpc is a boolean
    const badGpc: ConsentOptions = { secrets: [], db: {} as Database, policies: [], gpc: 'yes' };
    void [noPolicies, badGpc];
    expectTypeOf(consent).toEqualTypeOf(harakaflowConsent);
    expectTypeOf(consent).toExtend<FastifyPluginAsync<ConsentOptions>>();
  });

  it('decorations: request.consent, fastify.consentDecide and fastify.consentLedger', () => {
    expectTypeOf<FastifyRequest['consent']>().toEqualTypeOf<ConsentState>();
    expectTypeOf<FastifyInstance['consentDecide']>().toEqualTypeOf<
      (request: FastifyRequest, reply: FastifyReply, decisions: Record<string, boolean>) => Promise<ConsentState>
    >();
    expectTypeOf<FastifyInstance['consentLedger']['withdrawSubject']>().toEqualTypeOf<
      (subjectId: string) => Promise<number>
    >();
  });

  it('errors: constants with their codes', () => {
    expectTypeOf(new InvalidBody('x').code).toEqualTypeOf<'HF_CONSENT_INVALID_BODY'>();
    expectTypeOf<'HF_CONSENT_NOTICE_PERIOD'>().toExtend<ConsentErrorCode>();
    expectTypeOf<'HF_CONSENT_NOPE'>().not.toExtend<ConsentErrorCode>();
  });
});
