import { createDatabase, migrate } from '@harakaflow/db';
import { postgresUrl, testDatabase, type TestDatabase } from '../../../tooling/testing/src/index.js';
import { sql } from 'drizzle-orm';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from './helpers.js';

async function tableNames(handle: TestDatabase, schema: string): Promise<string[]> {
  const result = (await handle.db.execute(
    sql`select tablename from pg_tables where schemaname = ${schema} order by tablename`,
  )) as unknown as { tablename: string }[] | { rows: { tablename: string }[] };
  return (Array.isArray(result) ? result : result.rows).map((r) => r.tablename);
}

describe('migrate', () => {
  let handle: TestDatabase;
  beforeAll(async () => {
    handle = await testDatabase();
  });
  afterAll(() => handle.close());

  it('applies each set once, in its own journal, and is idempotent', async () => {
    const alpha = migrationsFolder([
      {
        when: 2000,
        tag: '0000_a',
        sql: 'create schema "alpha";\n--> statement-breakpoint\ncreate table "alpha"."t" (id int);',
      },
    ]);
    const beta = migrationsFolder([
      {
        when: 1000,
        tag: '0000_b',
        sql: 'create schema "beta";\n--> statement-breakpoint\ncreate table "beta"."t" (id int);',
      },
    ]);
    const sets = [
      { name: 'alpha', folder: alpha },
      { name: 'beta', folder: beta },
    ];
    expect(await migrate(handle.db, sets)).toEqual([
      { name: 'alpha', applied: 1 },
      { name: 'beta', applied: 1 },
    ]);
    expect(await migrate(handle.db, sets)).toEqual([
      { name: 'alpha', applied: 0 },
      { name: 'beta', applied: 0 },
    ]);
    expect(await tableNames(handle, 'alpha')).toEqual(['t']);
    expect(await tableNames(handle, 'drizzle')).toEqual(
      expect.arrayContaining(['__drizzle_migrations_alpha', '__drizzle_migrations_beta']),
    );
  });

  it('applies an older migration of another package that a shared journal would skip', async () => {
    // beta's second migration is older than alpha's newest one: with one journal drizzle would skip it.
    const beta = migrationsFolder([
      {
        when: 1000,
        tag: '0000_b',
        sql: 'create schema "beta";\n--> statement-breakpoint\ncreate table "beta"."t" (id int);',
      },
      { when: 1500, tag: '0001_b', sql: 'create table "beta"."u" (id int);' },
    ]);
    expect(await migrate(handle.db, [{ name: 'beta', folder: beta }])).toEqual([{ name: 'beta', applied: 1 }]);
    expect(await tableNames(handle, 'beta')).toEqual(['t', 'u']);
  });

  it('refuses an applied migration whose file was edited', async () => {
    const folder = migrationsFolder([{ when: 3000, tag: '0000_g', sql: 'create schema "gamma";' }]);
    await migrate(handle.db, [{ name: 'gamma', folder }]);
    writeFileSync(join(folder, '0000_g.sql'), 'create schema "gamma"; -- edited');
    await expect(migrate(handle.db, [{ name: 'gamma', folder }])).rejects.toMatchObject({
      code: 'HF_DB_MIGRATION_CHANGED',
    });
  });

  it('rolls everything back when one statement fails: nothing half-applied', async () => {
    const good = migrationsFolder([{ when: 4000, tag: '0000_d', sql: 'create schema "delta";' }]);
    const bad = migrationsFolder([
      {
        when: 4000,
        tag: '0000_e',
        sql: 'create schema "epsilon";\n--> statement-breakpoint\ncreate table "nope"."x" (id int);',
      },
    ]);
    await expect(
      migrate(handle.db, [
        { name: 'delta', folder: good },
        { name: 'epsilon', folder: bad },
      ]),
    ).rejects.toThrow();
    const schemas = (await handle.db.execute(
      sql`select nspname from pg_namespace where nspname in ('delta', 'epsilon')`,
    )) as unknown as unknown[] | { rows: unknown[] };
    expect(Array.isArray(schemas) ? schemas : schemas.rows).toHaveLength(0);
  });

  it('refuses a bad set name, a duplicate, and a missing folder with codes', async () => {
    await expect(migrate(handle.db, [{ name: 'Bad-Name', folder: '/tmp' }])).rejects.toMatchObject({
      code: 'HF_DB_INVALID_OPTION',
    });
    const folder = migrationsFolder([]);
    await expect(
      migrate(handle.db, [
        { name: 'dup', folder },
        { name: 'dup', folder },
      ]),
    ).rejects.toMatchObject({ code: 'HF_DB_INVALID_OPTION' });
    await expect(migrate(handle.db, [{ name: 'missing', folder: '/nonexistent/hf' }])).rejects.toMatchObject({
      code: 'HF_DB_MIGRATIONS_NOT_FOUND',
    });
  });
});

describe.skipIf(!postgresUrl)('migrate on real Postgres with replicas starting together', () => {
  let handle: TestDatabase;
  beforeAll(async () => {
    handle = await testDatabase();
  });
  afterAll(() => handle.close());

  it('serialises concurrent migrators with the advisory lock: each migration applied exactly once', async () => {
    // A non-idempotent migration: a second application would fail on "already exists".
    const folder = migrationsFolder([
      {
        when: 1000,
        tag: '0000_r',
        sql: 'create schema "race";\n--> statement-breakpoint\ncreate table "race"."t" (id int);',
      },
      { when: 2000, tag: '0001_r', sql: 'insert into "race"."t" values (1);' },
    ]);
    const replicas = await Promise.all(Array.from({ length: 4 }, () => createDatabase({ url: handle.url!, max: 2 })));
    try {
      const results = await Promise.all(replicas.map((r) => migrate(r.db, [{ name: 'race', folder }])));
      const applied = results.map((r) => r[0]!.applied).sort();
      expect(applied).toEqual([0, 0, 0, 2]);
      const rows = (await handle.db.execute(sql`select count(*)::int as n from "race"."t"`)) as unknown as {
        n: number;
      }[];
      expect(rows[0]!.n).toBe(1);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });
});
