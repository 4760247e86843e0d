import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { postgresUrl, redisUrl, testDatabase, testRedis } from '../src/index.js';

describe('testDatabase', () => {
  it('gives each call its own database, dropped on close', async () => {
    const [a, b] = await Promise.all([testDatabase(), testDatabase()]);
    await a.db.execute(sql`create table only_in_a (n int)`);
    await expect(b.db.execute(sql`select * from only_in_a`)).rejects.toThrow();
    if (postgresUrl) {
      expect(a.url).not.toBe(b.url);
      const name = new URL(a.url!).pathname.slice(1);
      await a.close();
      const rows = (await b.db.execute(sql`select 1 from pg_database where datname = ${name}`)) as unknown as unknown[];
      expect(rows).toHaveLength(0);
    } else {
      expect(a.driver).toBe('pglite');
      await a.close();
    }
    await b.close();
  });

  it('truncates the tables of a schema', async () => {
    const handle = await testDatabase();
    await handle.db.execute(sql`create schema s`);
    await handle.db.execute(sql`create table s.t (n int)`);
    await handle.db.execute(sql`insert into s.t values (1), (2)`);
    await handle.truncate('s');
    const result = (await handle.db.execute(sql`select count(*)::int as n from s.t`)) as unknown as
      { n: number }[] | { rows: { n: number }[] };
    expect((Array.isArray(result) ? result : result.rows)[0]!.n).toBe(0);
    await handle.close();
  });
});

describe.skipIf(!redisUrl)('testRedis', () => {
  it('connects, and deletes only its own keys on close', async () => {
    const one = (await testRedis())!;
    const two = (await testRedis())!;
    expect(one.prefix).not.toBe(two.prefix);
    await one.client.set(`${one.prefix}k`, '1');
    await two.client.set(`${two.prefix}k`, '2');
    await one.close();
    expect(await two.client.get(`${one.prefix}k`)).toBeNull();
    expect(await two.client.get(`${two.prefix}k`)).toBe('2');
    await two.close();
  });
});
