import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { withTimeout } from '@harakaflow/core';
import { mkdirSync } from 'node:fs';
import { DatabaseError, invalidOption } from './errors.js';

/**
 * The database type every package takes: drizzle's driver-independent base, so the same
 * code runs on PGlite and on postgres.js. Use the query builder, not raw `execute()` rows,
 * whose shape differs between the two drivers.
 */
export type Database = PgDatabase<PgQueryResultHKT, Record<string, never>>;

export type Driver = 'pglite' | 'postgres';

export interface DatabaseOptions {
  /** A `postgres://` URL. Unset: embedded PGlite. */
  url?: string | undefined;
  /** PGlite only: directory that keeps the data across restarts. Unset: in memory. */
  dataDir?: string | undefined;
  /** postgres.js only: pool size. Default 10. */
  max?: number | undefined;
  /** postgres.js only: `application_name` seen in `pg_stat_activity`. Default `harakaflow`. */
  applicationName?: string | undefined;
}

export interface DatabaseHandle {
  db: Database;
  driver: Driver;
  /** Resolves true when the database answers `select 1` within `timeoutMs`. Never throws. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Closes the pool or the PGlite instance. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_POOL = 10;

export async function createDatabase(options: DatabaseOptions = {}): Promise<DatabaseHandle> {
  const { url, dataDir, max = DEFAULT_POOL, applicationName = 'harakaflow' } = options;
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
    throw invalidOption('url', 'must start with postgres:// or postgresql://');
  }
  if (!Number.isInteger(max) || max < 1) throw invalidOption('max', 'must be a positive integer');

  let db: Database;
  let driver: Driver;
  let end: () => Promise<void>;
  if (url) {
    const [{ default: postgres }, { drizzle: drizzlePostgres }] = await loadDriver('postgres', () => Promise.all([import('postgres'), import('drizzle-orm/postgres-js')]));
    const client = postgres(url, {
      max,
      onnotice: () => {}, // "schema already exists" and friends are not worth a log line
      connection: { application_name: applicationName },
    });
    db = drizzlePostgres(client) as unknown as Database;
    driver = 'postgres';
    end = () => client.end({ timeout: 5 });
  } else {
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    // Loaded only when used: a replica on real Postgres does not carry PGlite (about 16 MB of RSS).
    const [{ PGlite }, { drizzle: drizzlePglite }] = await loadDriver('@electric-sql/pglite', () => Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]));
    const client = await PGlite.create(dataDir ?? 'memory://');
    db = drizzlePglite(client) as unknown as Database;
    driver = 'pglite';
    end = () => client.close();
  }

  let closed: Promise<void> | undefined;
  return {
    db,
    driver,
    async ping(timeoutMs = 2000) {
      if (closed) return false;
      return withTimeout(db.execute(sql`select 1`), timeoutMs, () => new Error('ping timed out')).then(
        () => true,
        () => false,
      );
    },
    close() {
      closed ??= end();
      return closed;
    },
  };
}

/**
 * Both drivers are optional peer dependencies, loaded on first use: a plugin that only takes a
 * `Database` from the app installs neither. A missing one is a clear error naming the package.
 */
async function loadDriver<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(name)) {
      throw new DatabaseError('HF_DB_DRIVER_MISSING', `@harakaflow/db: the driver ${name} is not installed (npm install ${name}); it is an optional peer dependency`, { cause: error });
    }
    throw error;
  }
}
