// postgres.js 3.x and 4.x (issue 28 items 1 and 6). The project "db (postgres 4)" runs this file
// again with `postgres` resolved to 4.x, which decides parameter types on the server (3.x typed a
// Date as timestamptz, a boolean as boolean, a Buffer as bytea from the JavaScript value): the
// values the packages write and read through drizzle must come back the same from both. And after
// an outage, createDatabase's handle answers its first ping once the server is back, whatever the
// driver's reconnection backoff has grown to meanwhile.
import { errorCodes } from '@harakaflow/core';
import {
  createDatabase,
  isConnectionLoss,
  resultRows,
  type AvailabilityChange,
  type DatabaseHandle,
} from '@harakaflow/db';
import { and, eq, gte, inArray, sql } from 'drizzle-orm';
import { bigint, boolean, customType, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUrl, tcpProxy, testDatabase, until, type TestDatabase } from '../../../tooling/testing/src/index.js';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });
const kinds = pgTable('kinds', {
  id: integer('id').primaryKey(),
  at: timestamp('at', { withTimezone: true }).notNull(),
  local: timestamp('local'),
  flag: boolean('flag').notNull(),
  data: jsonb('data'),
  raw: bytea('raw'),
  big: bigint('big', { mode: 'number' }),
  tags: text('tags').array(),
});

/** The major version of the postgres.js the project resolves (the tests are run under both). */
const expectedMajor = process.env.HF_POSTGRES_MAJOR ?? '3';

describe.skipIf(!postgresUrl)('values through postgres.js', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await testDatabase();
    await database.db.execute(
      sql`create table kinds (id integer primary key, at timestamptz not null, local timestamp, flag boolean not null, data jsonb, raw bytea, big bigint, tags text[])`,
    );
  });
  afterAll(() => database?.close());

  it('is the driver version this project names: 4.x leaves an untyped parameter to the server (text), 3.x types it', async () => {
    // `select $1` with a boolean: 3.x sends it typed bool and reads back true; 4.x lets the server
    // read it as text. The same difference is what the rest of this file guards against.
    const [row] = resultRows<{ v: unknown }>(await database.db.execute(sql`select ${true} as v`));
    const major = row!.v === true ? '3' : '4';
    expect(['3', '4']).toContain(major);
    expect(major).toBe(expectedMajor);
  });

  it('round-trips dates, booleans, JSON, bytes, bigints and arrays through the query builder', async () => {
    const at = new Date('2026-03-29T01:30:00.123Z'); // a daylight-saving night in Europe
    const row = {
      id: 1,
      at,
      local: new Date('2026-12-31T23:59:59.000Z'),
      flag: false,
      data: { a: [1, 'b', null], nested: { ok: true } },
      raw: Buffer.from([0, 255, 10, 13]),
      big: 2 ** 52,
      tags: ['x', 'y,z', '"q"'],
    };
    await database.db.insert(kinds).values(row);
    const [back] = await database.db.select().from(kinds).where(eq(kinds.id, 1));
    expect(back).toEqual(row);
    // Dates and booleans as comparison parameters, arrays as an IN list.
    const found = await database.db
      .select({ id: kinds.id })
      .from(kinds)
      .where(and(gte(kinds.at, new Date(at.getTime() - 1)), eq(kinds.flag, false), inArray(kinds.id, [1, 2])));
    expect(found).toEqual([{ id: 1 }]);
  });

  it('takes a Date in raw SQL as ISO text, as the packages write it: cast where the query does not decide its type', async () => {
    // drizzle hands a Date in a raw `sql` template to postgres.js unserialised, which neither
    // version accepts; the packages pass `date.toISOString()` and cast (`::timestamptz`) where
    // the query does not decide the type: the form that both versions read the same way.
    const at = new Date('2026-06-01T12:00:00.000Z');
    await database.db.execute(sql`insert into kinds (id, at, flag) values (2, ${at.toISOString()}, ${true})`);
    const [row] = resultRows<{ day: unknown; later: unknown; flag: unknown }>(
      await database.db.execute(
        sql`select date_trunc('day', ${at.toISOString()}::timestamptz) = date_trunc('day', at) as day, ${at.toISOString()}::timestamptz + interval '1 day' > at as later, flag from kinds where id = 2 and at <= ${at.toISOString()}::timestamptz`,
      ),
    );
    expect(row).toEqual({ day: true, later: true, flag: true });
  });
});

describe.skipIf(!postgresUrl)('after an outage', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await testDatabase();
  });
  afterAll(() => database?.close());

  it('answers the first ping after the server accepts connections again, and the pool follows within its capped backoff', async () => {
    const target = new URL(database.url!);
    const proxy = await tcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    let handle: DatabaseHandle | undefined;
    try {
      const changes: AvailabilityChange[] = [];
      handle = await createDatabase({
        url: proxy.through(database.url!),
        max: 3,
        onAvailability: (change) => changes.push(change),
      });
      const query = () => handle!.db.execute(sql`select 1 as one`);
      await query();
      expect(await handle.ping(1000)).toBe(true);
      // Postgres stopped (connections refused), long enough for the driver's reconnection backoff
      // to grow: by default it reaches 5 to 20 s after a dozen failed attempts.
      proxy.cut({ stopped: true });
      for (let round = 0; round < 20; round++) {
        await Promise.all(
          Array.from({ length: 3 }, () =>
            Promise.race([query().catch(() => undefined), new Promise((r) => setTimeout(r, 150))]),
          ),
        );
        expect(await handle.ping(150)).toBe(false);
      }
      // Known down: a query is refused at once by the gate (HF_DB_UNAVAILABLE, a connection-loss
      // code), not held by the driver until the server is back.
      expect(handle.available).toBe(false);
      const refused = await query().then(
        () => null,
        (error: unknown) => error,
      );
      expect(isConnectionLoss(refused)).toBe(true);
      expect(JSON.stringify(errorCodes(refused).codes)).toContain('HF_DB_UNAVAILABLE');
      expect(changes.map((c) => c.up)).toEqual([false]);
      await proxy.restore();
      // The first probe after the server is reachable again: up.
      expect(await handle.ping(1000)).toBe(true);
      expect(handle.available).toBe(true);
      expect(changes.map((c) => c.up)).toEqual([false, true]);
      // The pool's own connections come back by themselves (backoff capped at 2 s).
      let back = false;
      await until(
        async () =>
          (back = await query().then(
            () => true,
            () => false,
          )),
        15_000,
      ).catch(() => {});
      expect(back).toBe(true);
    } finally {
      await handle?.close();
      await proxy.close();
    }
  }, 600_000); // a hang guard, not a measurement
});
