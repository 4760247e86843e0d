// The public types of @harakaflow/quota, as a user imports them (checked by tsc, run by vitest).
import type { FastifyContextConfig, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import quota, {
  QuotaBanned,
  QuotaExceeded,
  type QuotaDecorator,
  type QuotaErrorCode,
  type QuotaOptions,
  type RouteQuota,
} from '@harakaflow/quota';

describe('types', () => {
  it('options: every field optional, clientKeys.previous a list of secrets, wrong types rejected', () => {
    expectTypeOf<Record<never, never>>().toExtend<QuotaOptions>();
    expectTypeOf<QuotaOptions['store']>().toEqualTypeOf<'memory' | 'postgres' | 'redis' | undefined>();
    expectTypeOf<NonNullable<QuotaOptions['clientKeys']>['previous']>().toEqualTypeOf<
      ReadonlyArray<string | Uint8Array> | undefined
    >();
    const ok: QuotaOptions = { clientKeys: { secret: 'a secret of 16 bytes', previous: ['an older secret...'] } };
    expectTypeOf(ok).toEqualTypeOf<QuotaOptions>();
    // @ts-expect-error a secret is required with clientKeys
    const noSecret: QuotaOptions = { clientKeys: { legacy: true } };
    // @ts-expect-error the store is one of three names
    const badStore: QuotaOptions = { store: 'mongo' };
    void [noSecret, badStore];
    expectTypeOf(quota).toExtend<FastifyPluginAsync<QuotaOptions>>();
  });

  it('decorations: fastify.quota and the route config', () => {
    expectTypeOf<FastifyInstance['quota']>().toEqualTypeOf<QuotaDecorator>();
    expectTypeOf<FastifyInstance['quota']['ban']>().toEqualTypeOf<
      (key: string, seconds: number, reason: string) => Promise<void>
    >();
    expectTypeOf<FastifyInstance['quota']['unban']>().toEqualTypeOf<(key: string) => Promise<void>>();
    expectTypeOf<FastifyInstance['quota']['sync']>().toEqualTypeOf<() => Promise<boolean>>();
    expectTypeOf<FastifyContextConfig['quota']>().toEqualTypeOf<false | RouteQuota | undefined>();
  });

  it('errors: constants with their codes', () => {
    expectTypeOf(new QuotaExceeded('x').code).toEqualTypeOf<'HF_QUOTA_EXCEEDED'>();
    expectTypeOf(new QuotaBanned().code).toExtend<QuotaErrorCode>();
    expectTypeOf<'HF_QUOTA_NOPE'>().not.toExtend<QuotaErrorCode>();
  });
});
