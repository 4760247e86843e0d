// Issue 28 item 5: the pool's use for the metrics, on whichever driver the run has (PGlite, or
// postgres.js 3 and 4 on real Postgres): the pool's size, and what is in flight.
import { poolUse } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testDatabase, until, type TestDatabase } from '../../../tooling/testing/src/index.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ max: 3 });
});
afterAll(() => database?.close());

/** A transaction held open until `release()`: `inside` once it has run a statement. */
function held(statements = 1) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const done = database.db.transaction(async (tx) => {
    for (let i = 0; i < statements; i++) await tx.execute(sql`select 1`);
    entered();
    await gate;
  });
  return { inside, release, done };
}

it('gives the pool size (PGlite: one connection) and nothing in flight at rest; wraps the client once', () => {
  const use = poolUse(database);
  expect(use()).toEqual({ size: database.driver === 'pglite' ? 1 : 3, inFlight: 0 });
  expect(poolUse(database)).toBe(use);
});

it('counts a transaction once, not the statements run inside it', async () => {
  const use = poolUse(database);
  const tx = held(3);
  await tx.inside;
  expect(use().inFlight).toBe(1);
  tx.release();
  await tx.done;
  expect(use().inFlight).toBe(0);
});

it('counts statements waiting for, or running on, a connection until they settle, failed ones too', async () => {
  const use = poolUse(database);
  const tx = held();
  await tx.inside;
  // On PGlite these wait behind the transaction; on Postgres they sleep on other connections.
  // (A drizzle query starts when it is awaited: then() starts each.)
  const statements = [
    database.db.execute(sql`select pg_sleep(0.3)`).then(() => 'slept'),
    database.db.execute(sql`select pg_sleep(0.3)`).then(() => 'slept'),
    database.db.execute(sql`select * from no_such_table`).then(
      () => 'ran',
      () => 'failed',
    ),
  ];
  await until(() => use().inFlight >= 3);
  tx.release();
  expect(await Promise.all(statements)).toEqual(['slept', 'slept', 'failed']);
  await tx.done;
  expect(use().inFlight).toBe(0);
});
