// The types a user of @harakaflow/db meets: createDatabase's options and handle, migrate, the error codes.
import { describe, expectTypeOf, it } from 'vitest';
import {
  createDatabase,
  migrate,
  type Database,
  type DatabaseHandle,
  type DatabaseOptions,
  type DbErrorCode,
  type MigrationResult,
  type MigrationSet,
  type Pooler,
} from '@harakaflow/db';

describe('types', () => {
  it('createDatabase takes optional options and resolves to a handle', () => {
    expectTypeOf(createDatabase).parameter(0).toEqualTypeOf<DatabaseOptions | undefined>();
    expectTypeOf(createDatabase).returns.toEqualTypeOf<Promise<DatabaseHandle>>();
    expectTypeOf<DatabaseOptions['url']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<DatabaseOptions['max']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<DatabaseOptions['pooler']>().toEqualTypeOf<Pooler | undefined>();
    expectTypeOf<Record<string, never>>().toExtend<DatabaseOptions>();
    // @ts-expect-error max is a number
    expectTypeOf<{ max: '10' }>().toExtend<DatabaseOptions>();
    // @ts-expect-error pooler is one of none, session, transaction
    expectTypeOf<{ pooler: 'statement' }>().toExtend<DatabaseOptions>();
  });

  it('the handle', () => {
    expectTypeOf<DatabaseHandle['db']>().toEqualTypeOf<Database>();
    expectTypeOf<DatabaseHandle['driver']>().toEqualTypeOf<'pglite' | 'postgres'>();
    expectTypeOf<DatabaseHandle['ping']>().toEqualTypeOf<(timeoutMs?: number) => Promise<boolean>>();
    expectTypeOf<DatabaseHandle['available']>().toEqualTypeOf<boolean>();
    expectTypeOf<DatabaseHandle['close']>().toEqualTypeOf<() => Promise<void>>();
  });

  it('migrate and the error codes', () => {
    expectTypeOf(migrate).toEqualTypeOf<(db: Database, sets: readonly MigrationSet[]) => Promise<MigrationResult[]>>();
    expectTypeOf<'HF_DB_UNAVAILABLE'>().toExtend<DbErrorCode>();
    expectTypeOf<'HF_DB_INVALID_OPTION'>().toExtend<DbErrorCode>();
    // @ts-expect-error not a code of @harakaflow/db
    expectTypeOf<'HF_DB_NOPE'>().toExtend<DbErrorCode>();
  });
});
