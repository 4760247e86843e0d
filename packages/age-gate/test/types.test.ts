// The public types of @harakaflow/age-gate, as a user imports them (checked by tsc, run by vitest).
import type { Database } from '@harakaflow/db';
import type { FastifyContextConfig, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import ageGate, {
  harakaflowAgeGate,
  NotEligible,
  type AgeGate,
  type AgeGateErrorCode,
  type AgeGateOptions,
  type SubjectStatus,
} from '@harakaflow/age-gate';

describe('types', () => {
  it('options: db and secrets required, the rest optional, wrong types rejected', () => {
    expectTypeOf<{ db: Database; secrets: string[] }>().toExtend<AgeGateOptions>();
    expectTypeOf<AgeGateOptions['minimumAge']>().toEqualTypeOf<number | undefined>();
    // @ts-expect-error secrets are required
    const noSecrets: AgeGateOptions = { db: {} as Database };
    // @ts-expect-error minimumAge is a number
    const badAge: AgeGateOptions = { db: {} as Database, secrets: [], minimumAge: '18' };
    void [noSecrets, badAge];
    expectTypeOf(ageGate).toEqualTypeOf(harakaflowAgeGate);
    expectTypeOf(ageGate).toExtend<FastifyPluginAsync<AgeGateOptions>>();
  });

  it('decorations: fastify.ageGate and the route config', () => {
    expectTypeOf<FastifyInstance['ageGate']>().toEqualTypeOf<AgeGate>();
    expectTypeOf<FastifyInstance['ageGate']['status']>().toEqualTypeOf<(subjectId: string) => Promise<SubjectStatus>>();
    expectTypeOf<FastifyInstance['ageGate']['runDueErasures']>().toEqualTypeOf<() => Promise<void>>();
    expectTypeOf<FastifyContextConfig['ageGate']>().toEqualTypeOf<boolean | undefined>();
  });

  it('errors: constants with their codes', () => {
    expectTypeOf(new NotEligible().code).toEqualTypeOf<'HF_AGE_GATE_NOT_ELIGIBLE'>();
    expectTypeOf<'HF_AGE_GATE_BLOCKED'>().toExtend<AgeGateErrorCode>();
    expectTypeOf<'HF_AGE_GATE_NOPE'>().not.toExtend<AgeGateErrorCode>();
  });
});
