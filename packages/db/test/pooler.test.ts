// createDatabase's `pooler` option (issue 28 item 3). Through PgBouncer in transaction mode a named
// prepared statement breaks: a later query of the same client lands on a server connection that
// never prepared it. postgres.js names its tagged-template queries (3.4: its transactions' `commit`
// too: apps/api/test/pgbouncer.test.ts shows the commit lost), and drizzle asks it for a named
// statement for a query made with `.prepare(name)`. `pooler: 'transaction'` (postgres.js
// `prepare: false`) sends every one unnamed. Runs under postgres.js 3 and 4 ("db (postgres 4)").
import { createDatabase, resultRows, type Database, type DatabaseHandle } from '@harakaflow/db';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backendPid,
  holdServer,
  pgbouncerAvailable,
  postgresUrl,
  testDatabase,
  testPgbouncer,
  until,
  type TestDatabase,
  type TestPgbouncer,
} from '../../../tooling/testing/src/index.js';

describe('the pooler option', () => {
  it('is none, session or transaction; anything else is a coded TypeError naming it', async () => {
    for (const pooler of ['statement', 'TRANSACTION', '']) {
      await expect(createDatabase({ url: 'postgres://x/y', pooler: pooler as never })).rejects.toMatchObject({
        name: 'TypeError',
        code: 'HF_DB_INVALID_OPTION',
        message: expect.stringContaining('"pooler" must be none, session, transaction'),
      });
    }
  });
});

type Pid = { n: number; pid: number };
const numbers = pgTable('numbers', { n: integer('n').notNull() });
const written = pgTable('written', { n: integer('n').notNull() });
/** A drizzle prepared query (`.prepare(name)`: a named statement in postgres.js), with a parameter, and where it ran. */
function numbered(db: Database): (n: number) => Promise<Pid> {
  const query = db
    .select({ n: numbers.n, pid: sql<number>`pg_backend_pid()`.as('pid') })
    .from(numbers)
    .where(eq(numbers.n, sql.placeholder('n')))
    .prepare('numbered');
  return async (n) => (await query.execute({ n }))[0]!;
}

// Without PgBouncer: skipped, or (REQUIRE_SERVICES=1) failed by testPgbouncer.
describe.skipIf(!postgresUrl || !pgbouncerAvailable)('through PgBouncer in transaction mode', () => {
  let database: TestDatabase;
  let bouncer: TestPgbouncer;
  let url: string;
  beforeAll(async () => {
    database = await testDatabase();
    await database.db.execute(sql`create table numbers (n integer not null)`);
    await database.db.execute(sql`create table written (n integer not null)`);
    await database.db.insert(numbers).values([0, 1, 2, 3].map((n) => ({ n })));
    bouncer = await testPgbouncer({ serverUrl: database.url! });
    url = bouncer.through(database.url!);
  });
  afterAll(async () => {
    await bouncer?.close();
    await database?.close();
  });

  /**
   * The sequence that breaks named statements: `a` prepares its query on server X; `b` then holds X
   * in a transaction, so a's next (pipelined) queries land on another server, which has never seen
   * the statement. Returns what became of a's three queries, and X.
   */
  async function heldServerRun(a: DatabaseHandle, b: DatabaseHandle) {
    const query = numbered(a.db);
    const first = await query(0);
    const release = await holdServer(b.db, first.pid, bouncer.poolSize - 1);
    try {
      const queries = [1, 2, 3].map(query);
      // A failure shows as an error (postgres.js 4: "prepared statement ... does not exist") or as
      // a hang (postgres.js 3.4: the retried statement stalls its pipeline); a hang is told by a
      // deadline far past what the same queries take with pooler 'transaction' (milliseconds).
      const settled = await Promise.race([
        Promise.allSettled(queries),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000).unref()),
      ]);
      return { held: first.pid, settled };
    } finally {
      await release();
    }
  }

  it('without it, a named prepared statement fails on a server that did not prepare it', async () => {
    const a = await createDatabase({ url, max: 1 });
    const b = await createDatabase({ url, max: bouncer.poolSize, pooler: 'transaction' }); // only holds a server
    try {
      const { settled } = await heldServerRun(a, b);
      const answered = settled?.filter((s) => s.status === 'fulfilled').length ?? 0;
      expect(
        answered,
        JSON.stringify(
          settled?.map((s) => (s.status === 'rejected' ? String((s.reason as Error).message) : 'ok')) ??
            'no answer within 1 s',
        ),
      ).toBeLessThan(3);
    } finally {
      // Ended at once: close() would give a hung query its 5 s of grace.
      await (a.db as unknown as { $client: { end(o: { timeout: number }): Promise<void> } }).$client.end({
        timeout: 0,
      });
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("with pooler: 'transaction' the same prepared query answers on another server, and a transaction there commits", async () => {
    const a = await createDatabase({ url, max: 1, pooler: 'transaction' });
    const b = await createDatabase({ url, max: bouncer.poolSize, pooler: 'transaction' });
    try {
      const { held, settled } = await heldServerRun(a, b);
      expect(settled).not.toBeNull();
      const rows = settled!.map((s) => (s.status === 'fulfilled' ? s.value : s.reason));
      expect(rows.map((r) => (r as Pid).n)).toEqual([1, 2, 3]);
      for (const row of rows as Pid[]) expect(row.pid).not.toBe(held);

      // Transactions too: the second one's commit runs on another server than the first one's.
      const write = (n: number) =>
        a.db.transaction(async (tx) => (await tx.insert(written).values({ n }), backendPid(tx as unknown as Database)));
      const first = await write(1);
      const release = await holdServer(b.db, first, bouncer.poolSize - 1);
      try {
        expect(await write(2)).not.toBe(first);
      } finally {
        await release();
      }
      expect(await database.db.select().from(written)).toEqual([{ n: 1 }, { n: 2 }]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('two pools of 8 share at most default_pool_size server connections: queries and transactions all answer', async () => {
    const pools = await Promise.all([0, 1].map(() => createDatabase({ url, max: 8, pooler: 'transaction' })));
    try {
      await pools[0]!.db.execute(sql`create table if not exists counter (id int primary key, n int not null)`);
      await pools[0]!.db.execute(sql`insert into counter values (1, 0) on conflict do nothing`);
      const queries = pools.map((p) => numbered(p.db));
      const pids = new Set<number>();
      const work = Array.from({ length: 60 }, async (_, i) => {
        const { db } = pools[i % 2]!;
        if (i % 3) {
          const row = await queries[i % 2]!(i % 4);
          expect(row.n).toBe(i % 4);
          pids.add(row.pid);
        } else {
          await db.transaction(async (tx) => {
            const t = tx as unknown as Database;
            await t.execute(sql`update counter set n = n + ${1} where id = ${1}`);
            pids.add(await backendPid(t));
          });
        }
      });
      await Promise.all(work);
      expect(
        resultRows<{ n: number }>(await pools[1]!.db.execute(sql`select n from counter where id = ${1}`))[0]!.n,
      ).toBe(20);
      const name = new URL(url).pathname.slice(1);
      // Idle client connections stay linked to PgBouncer; server connections never outnumber the pool.
      await until(async () => (await bouncer.pool(name)).clients > bouncer.poolSize);
      expect((await bouncer.pool(name)).servers).toBeLessThanOrEqual(bouncer.poolSize);
      expect(pids.size).toBeLessThanOrEqual(bouncer.poolSize);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });
});
