// The types a package author meets in @harakaflow/core: the handler contract, security events, the E.164 check, the codes.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  E164_PATTERN,
  isE164,
  registerPersonalDataHandler,
  securityEvent,
  type CoreErrorCode,
  type PersonalDataHandler,
  type SecurityEvent,
  type SubjectRef,
} from '@harakaflow/core';

describe('types', () => {
  it('the personal-data handler contract', () => {
    expectTypeOf<PersonalDataHandler['name']>().toEqualTypeOf<string>();
    expectTypeOf(registerPersonalDataHandler).parameter(0).toEqualTypeOf<FastifyInstance>();
    expectTypeOf<SubjectRef>().toExtend<{ kind: 'account' | 'contact' | 'email' }>();
    // @ts-expect-error a subject is an account, a contact or an email
    expectTypeOf<{ kind: 'device'; deviceId: string }>().toExtend<SubjectRef>();
  });

  it('security events', () => {
    expectTypeOf(securityEvent).toEqualTypeOf<
      (fastify: FastifyInstance, request: FastifyRequest | undefined, event: SecurityEvent) => Promise<void>
    >();
    expectTypeOf<{ action: string }>().toExtend<SecurityEvent>();
    // @ts-expect-error durability is sync or async
    expectTypeOf<{ action: string; durability: 'now' }>().toExtend<SecurityEvent>();
  });

  it('the E.164 pattern and the error codes', () => {
    expectTypeOf(E164_PATTERN).toEqualTypeOf<string>();
    expect(new RegExp(E164_PATTERN).test('+14155550100')).toBe(isE164('+14155550100'));
    const phone: unknown = '+14155550100';
    if (isE164(phone)) expectTypeOf(phone).toEqualTypeOf<string>();
    expectTypeOf<'HF_CORE_INVALID_METRIC'>().toExtend<CoreErrorCode>();
    // @ts-expect-error not a code of core
    expectTypeOf<'HF_CORE_NOPE'>().toExtend<CoreErrorCode>();
  });
});
