// Found with two copies of the suite on 2 cores (privacy.test.ts): verify on a live log reported
// `checkpoint-mismatch`, "3 event(s) after the signed end of the segment". It read the checkpoints,
// then the events, in separate statements: a batch a writer committed in between (events and
// checkpoint together, in one transaction) read as events appended past the signed end. Verify now
// reads in one snapshot. Here the batch is committed, on another connection, exactly between the
// checkpoints and the first page of events: certain, not a race.
import { createDatabase, migrate, type Database } from '@harakaflow/db';
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMigrations } from '../../src/index.js';
import { verifyChain } from '../../src/verify.js';
import { KEYS, securityInput, writer } from '../helpers.js';

/**
 * `db` whose `at`-th select (counted across it and its transactions) runs `inject` first, when it is
 * awaited: the statements verify sends before it have run, those after it have not.
 */
function injecting(db: Database, at: number, inject: () => Promise<void>, count = { n: 0 }): Database {
  return new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'transaction' && typeof value === 'function') {
        return (body: (tx: Database) => unknown, config?: unknown) =>
          (value as (b: unknown, c?: unknown) => unknown).call(
            target,
            (tx: Database) => body(injecting(tx, at, inject, count)),
            config,
          );
      }
      if (prop === 'select' && typeof value === 'function') {
        return (...args: unknown[]) => {
          const builder = (value as (...a: unknown[]) => { from: (...a: unknown[]) => PromiseLike<unknown> }).apply(
            target,
            args,
          );
          if (++count.n !== at) return builder;
          const from = builder.from.bind(builder);
          builder.from = (...a: unknown[]) => {
            const query = from(...a) as PromiseLike<unknown> & { then: PromiseLike<unknown>['then'] };
            const then = query.then.bind(query);
            query.then = ((resolve, reject) => inject().then(() => then(resolve, reject), reject)) as typeof query.then;
            return query;
          };
          return builder;
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe.skipIf(!postgresUrl)('verify on a live log (real Postgres: a writer on another connection)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await testDatabase();
    await migrate(database.db, [auditMigrations]);
  });
  afterAll(() => database.close());

  it('reads checkpoints and events as of one instant: a batch committed between them is not tampering', async () => {
    // The writer on a connection of its own: it commits while verify's statements run on the test's.
    const other = await createDatabase({ url: database.url, max: 1 });
    const live = writer(other.db, { writer: 'w-live', flushIntervalMs: 60_000 });
    try {
      for (let i = 0; i < 5; i++) live.append(securityInput(i));
      await live.flush();
      // The first select is the checkpoints, the second the first page of events.
      let injected = 0;
      const during = injecting(database.db, 2, async () => {
        injected++;
        for (let i = 0; i < 3; i++) live.append(securityInput(10 + i));
        await live.flush();
      });
      const result = await verifyChain({ db: during, checkpointKeys: KEYS, pageSize: 2 });
      expect(injected).toBe(1);
      expect(result.problems).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.events).toBe(5);
      // Afterwards, the batch is there and verifies as well.
      const after = await verifyChain({ db: database.db, checkpointKeys: KEYS });
      expect(after).toMatchObject({ ok: true, events: 8 });
    } finally {
      await live.close();
      await other.close();
    }
  });
});
