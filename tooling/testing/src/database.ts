import { pgliteDump } from './pglite-seed.js';
import { createDatabase, migrate, type DatabaseHandle, type MigrationSet } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { postgresUrl } from './services.js';

type Row = { tablename: string };

export interface TestDatabase extends DatabaseHandle {
  /** The URL of this file's own database on real Postgres; undefined on PGlite. */
  url: string | undefined;
  /** Empties every table of the given schemas (between tests). */
  truncate(...schemas: string[]): Promise<void>;
}

/**
 * A fresh database for one test file: with TEST_DATABASE_URL, a new database on that server,
 * dropped by close(); without it, an in-memory PGlite. Call it in beforeAll, close in afterAll.
 */
export async function testDatabase(
  options: { migrations?: MigrationSet[]; max?: number; serverUrl?: string | undefined } = {},
): Promise<TestDatabase> {
  let url: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  // Benchmarks pass DATABASE_URL here; tests use TEST_DATABASE_URL.
  const server = 'serverUrl' in options ? options.serverUrl : postgresUrl;
  if (server) {
    const name = `hf_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = postgres(server, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    const target = new URL(server);
    target.pathname = `/${name}`;
    url = target.toString();
    drop = async () => {
      try {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await admin.end({ timeout: 5 });
      }
    };
  }
  // PGlite starts from the suite's made directory (pglite-seed.ts): no initdb in every test file.
  const handle = await createDatabase({
    url,
    max: options.max ?? 5,
    ...(url ? {} : { loadDataDir: await pgliteDump() }),
  });
  if (options.migrations?.length) await migrate(handle.db, options.migrations);

  let closed: Promise<void> | undefined;
  return {
    ...handle,
    url,
    async truncate(...schemas: string[]) {
      for (const schema of schemas) {
        // Table names come from the catalogue, never from input.
        const result = (await handle.db.execute(
          sql`select tablename from pg_tables where schemaname = ${schema}`,
        )) as unknown as Row[] | { rows: Row[] };
        const list = (Array.isArray(result) ? result : result.rows).map((r) => `"${schema}"."${r.tablename}"`);
        if (!list.length) continue;
        // As a superuser with replication-role triggers off: append-only tables refuse TRUNCATE
        // (consent.records) to everyone else. Local to one transaction, so one connection.
        await handle.db.transaction(async (tx) => {
          await tx.execute(sql`set local session_replication_role = replica`);
          await tx.execute(sql.raw(`truncate ${list.join(', ')} restart identity cascade`));
        });
      }
    },
    close() {
      closed ??= handle.close().then(() => drop?.());
      return closed;
    },
  };
}
