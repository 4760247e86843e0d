import { asc, sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { bigint, pgSchema, serial, text } from 'drizzle-orm/pg-core';
import type { Database } from './connect.js';
import { DatabaseError, invalidOption } from './errors.js';

/** One package's migrations: `name` picks its journal table, `folder` is drizzle-kit's `out`. */
export interface MigrationSet {
  name: string;
  folder: string;
}

export interface MigrationResult {
  name: string;
  applied: number;
}

/**
 * Every package keeps its own journal (`drizzle.__drizzle_migrations_<name>`, the table layout
 * drizzle-kit uses): with one shared journal, drizzle compares only the newest timestamp and
 * silently skips an older migration of another package.
 */
const journalSchema = pgSchema('drizzle');
const journals = new Map<string, ReturnType<typeof journalTable>>();
function journalTable(name: string) {
  return journalSchema.table(`__drizzle_migrations_${name}`, {
    id: serial('id').primaryKey(),
    hash: text('hash').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }),
  });
}

// Transaction-scoped advisory lock: released by commit or rollback, so a crashed replica
// cannot leave it held. The key is arbitrary but fixed for the whole kit ("HFMG").
const LOCK_KEY = 0x48464d47;
const NAME = /^[a-z][a-z0-9_]{0,40}$/;

/**
 * Applies each set's pending migrations, in the order given, in one transaction under a Postgres
 * advisory lock: replicas starting together wait for each other, and a failing migration leaves
 * nothing half-applied. A migration already applied whose file changed is refused
 * (`HF_DB_MIGRATION_CHANGED`) rather than silently ignored.
 */
export async function migrate(db: Database, sets: readonly MigrationSet[]): Promise<MigrationResult[]> {
  const seen = new Set<string>();
  const plans = sets.map((set) => {
    if (!NAME.test(set.name)) throw invalidOption(`sets[].name (${JSON.stringify(set.name)})`, 'must match ' + NAME);
    if (seen.has(set.name)) throw invalidOption(`sets[].name (${set.name})`, 'appears twice');
    seen.add(set.name);
    let files;
    try {
      files = readMigrationFiles({ migrationsFolder: set.folder });
    } catch (cause) {
      throw new DatabaseError('HF_DB_MIGRATIONS_NOT_FOUND', `migrations of "${set.name}" not found in ${set.folder}`, {
        cause,
      });
    }
    let table = journals.get(set.name);
    if (!table) journals.set(set.name, (table = journalTable(set.name)));
    return { set, files, table };
  });

  return db.transaction(async (tx) => {
    await tx.execute(sql.raw(`select pg_advisory_xact_lock(${LOCK_KEY})`));
    await tx.execute(sql`create schema if not exists "drizzle"`);
    const results: MigrationResult[] = [];
    for (const { set, files, table } of plans) {
      await tx.execute(
        sql`create table if not exists ${table} (id serial primary key, hash text not null, created_at bigint)`,
      );
      const done = await tx.select({ hash: table.hash, createdAt: table.createdAt }).from(table).orderBy(asc(table.id));
      const byTime = new Map(done.map((row) => [row.createdAt, row.hash]));
      let applied = 0;
      for (const migration of files) {
        const previous = byTime.get(migration.folderMillis);
        if (previous !== undefined) {
          if (previous !== migration.hash) {
            throw new DatabaseError(
              'HF_DB_MIGRATION_CHANGED',
              `migration ${migration.folderMillis} of "${set.name}" was edited after it was applied; add a new migration instead`,
            );
          }
          continue;
        }
        for (const statement of migration.sql) {
          if (statement.trim()) await tx.execute(sql.raw(statement));
        }
        await tx.insert(table).values({ hash: migration.hash, createdAt: migration.folderMillis });
        applied++;
      }
      results.push({ name: set.name, applied });
    }
    return results;
  });
}
