import { createDatabase } from '@harakaflow/db';
import { postgresUrl } from '../../../tooling/testing/src/index.js';
import { sql } from 'drizzle-orm';
import { integer, pgTable } from 'drizzle-orm/pg-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const numbers = pgTable('numbers', { n: integer('n').notNull() });

describe('createDatabase', () => {
  it('uses in-memory PGlite without url or dataDir', async () => {
    const handle = await createDatabase();
    try {
      expect(handle.driver).toBe('pglite');
      expect(await handle.ping()).toBe(true);
      await handle.db.execute(sql`create table numbers (n integer not null)`);
      await handle.db.insert(numbers).values([{ n: 1 }, { n: 2 }]);
      expect(await handle.db.select().from(numbers)).toEqual([{ n: 1 }, { n: 2 }]);
    } finally {
      await handle.close();
    }
  });

  it('keeps PGlite data in dataDir across a close and reopen', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hf-pglite-'));
    try {
      const first = await createDatabase({ dataDir });
      await first.db.execute(sql`create table numbers (n integer not null)`);
      await first.db.insert(numbers).values({ n: 42 });
      await first.close();

      const second = await createDatabase({ dataDir });
      expect(await second.db.select().from(numbers)).toEqual([{ n: 42 }]);
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('starts a new PGlite database from loadDataDir (a dump), in memory and in a new dataDir; a dataDir that holds one ignores it', async () => {
    const source = await createDatabase();
    await source.db.execute(sql`create table numbers (n integer not null)`);
    await source.db.insert(numbers).values({ n: 7 });
    // The driver's own client dumps the directory (what the test suite's template is).
    const client = (source.db as unknown as { $client: { dumpDataDir(c: 'none'): Promise<Blob> } }).$client;
    const dump = await client.dumpDataDir('none');
    await source.close();

    const inMemory = await createDatabase({ loadDataDir: dump });
    expect(await inMemory.db.select().from(numbers)).toEqual([{ n: 7 }]);
    await inMemory.close();

    const dataDir = mkdtempSync(join(tmpdir(), 'hf-pglite-load-'));
    try {
      const first = await createDatabase({ dataDir, loadDataDir: dump });
      await first.db.insert(numbers).values({ n: 8 });
      await first.close();
      const second = await createDatabase({ dataDir, loadDataDir: dump });
      expect(await second.db.select().from(numbers).orderBy(numbers.n)).toEqual([{ n: 7 }, { n: 8 }]);
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reports a closed database as not answering, and close is idempotent', async () => {
    const handle = await createDatabase();
    await handle.close();
    await handle.close();
    expect(await handle.ping()).toBe(false);
  });

  it('refuses a url that is not postgres:// with a coded TypeError', async () => {
    await expect(createDatabase({ url: 'mysql://localhost/x' })).rejects.toMatchObject({
      name: 'TypeError',
      code: 'HF_DB_INVALID_OPTION',
      message: expect.stringContaining('"url"'),
    });
    await expect(createDatabase({ url: 'postgres://x/y', max: 0 })).rejects.toMatchObject({
      code: 'HF_DB_INVALID_OPTION',
    });
  });

  it('answers ping false, without throwing, when the server is unreachable', async () => {
    const handle = await createDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', max: 1 });
    try {
      expect(handle.driver).toBe('postgres');
      expect(await handle.ping(3000)).toBe(false);
    } finally {
      await handle.close();
    }
  });
});

describe.skipIf(!postgresUrl)('createDatabase on real Postgres', () => {
  it('uses postgres.js with a url and runs the same query builder code', async () => {
    const handle = await createDatabase({ url: postgresUrl!, max: 2 });
    try {
      expect(handle.driver).toBe('postgres');
      expect(await handle.ping()).toBe(true);
      const rows = await handle.db.execute(sql`select current_setting('application_name') as name`);
      expect(JSON.stringify(rows)).toContain('harakaflow');
      await handle.db.transaction(async (tx) => {
        await tx.execute(sql`create temporary table numbers (n integer not null) on commit drop`);
        await tx.insert(numbers).values([{ n: 7 }]);
        expect(await tx.select().from(numbers)).toEqual([{ n: 7 }]);
      });
    } finally {
      await handle.close();
    }
  });
});
