// The public types of @harakaflow/retention, as a user imports them (checked by tsc, run by vitest).
import type { Database } from '@harakaflow/db';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import retention, {
  harakaflowRetention,
  HoldNotFound,
  type RetentionDecorator,
  type RetentionErrorCode,
  type RetentionOptions,
} from '@harakaflow/retention';

describe('types', () => {
  it('options: db required, the rest optional, wrong types rejected', () => {
    expectTypeOf<RetentionOptions['db']>().toEqualTypeOf<Database>();
    expectTypeOf<{ db: Database }>().toExtend<RetentionOptions>();
    // @ts-expect-error db is required
    const noDb: RetentionOptions = {};
    // @ts-expect-error batchSize is a number
    const badBatch: RetentionOptions = { db: {} as Database, batchSize: '10' };
    void [noDb, badBatch];
    expectTypeOf(retention).toEqualTypeOf(harakaflowRetention);
    expectTypeOf(retention).toExtend<FastifyPluginAsync<RetentionOptions>>();
  });

  it('decorations: fastify.retention', () => {
    expectTypeOf<FastifyInstance['retention']>().toEqualTypeOf<RetentionDecorator>();
    expectTypeOf<FastifyInstance['retention']['status']>().returns.toExtend<Promise<{ classes: unknown[] }>>();
  });

  it('errors: constants with their codes', () => {
    expectTypeOf(new HoldNotFound().code).toEqualTypeOf<'HF_RETENTION_HOLD_NOT_FOUND'>();
    expectTypeOf<'HF_RETENTION_HOLD_NOT_FOUND'>().toExtend<RetentionErrorCode>();
    expectTypeOf<'HF_RETENTION_NOPE'>().not.toExtend<RetentionErrorCode>();
  });
});
