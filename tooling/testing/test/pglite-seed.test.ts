import { PGlite } from '@electric-sql/pglite';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pgliteTemplate, seedPglite } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'hf-seed-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('seedPglite', () => {
  it('makes a new directory an empty PGlite database, owner-only, that opens and takes writes; the template stays untouched', async () => {
    const dir = join(root, 'a', 'pglite');
    await seedPglite(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(existsSync(join(dir, 'harakaflow.lock'))).toBe(false);
    const db = await PGlite.create(dir);
    try {
      expect(
        (
          await db.query<{ n: number }>(
            `select count(*)::int as n from pg_namespace where nspname not like 'pg_%' and nspname <> 'information_schema'`,
          )
        ).rows,
      ).toEqual([{ n: 1 }]); // public only
      await db.exec('create table t (x int); insert into t values (1)');
    } finally {
      await db.close();
    }
    const again = await PGlite.create(join(root, 'a', 'pglite'));
    expect((await again.query('select x from t')).rows).toEqual([{ x: 1 }]);
    await again.close();
    // The next copy does not see that table.
    const other = join(root, 'b');
    await seedPglite(other);
    const fresh = await PGlite.create(other);
    expect((await fresh.query(`select to_regclass('public.t') as t`)).rows).toEqual([{ t: null }]);
    await fresh.close();
  });

  it('leaves a directory that already holds something as it is', async () => {
    const dir = join(root, 'c');
    await seedPglite(join(dir, 'x'));
    writeFileSync(join(dir, 'x', 'marker'), '1');
    const before = readdirSync(join(dir, 'x')).sort();
    await seedPglite(join(dir, 'x'));
    expect(readdirSync(join(dir, 'x')).sort()).toEqual(before);
    expect(existsSync(join(await pgliteTemplate(), 'marker'))).toBe(false);
  });
});
