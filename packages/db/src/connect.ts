import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { withTimeout } from '@harakaflow/core';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Availability, gatedClient, type AvailabilityChange } from './availability.js';
import { DatabaseError, invalidOption } from './errors.js';
import { lockDataDir, type DataDirLock } from './pglite-lock.js';
import { poolerOptions, type Pooler } from './pooler.js';
import { PROBE_CONNECT_SECONDS, probeConnection } from './probe.js';
import { isMajor3, noDelaySocketOption } from './socket.js';
import { fetchTypesOnce, lostTransactionGuard } from './transactions.js';

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
  /**
   * PGlite only: directory that keeps the data across restarts. Unset: in memory. Held by one
   * process at a time (the lock file `harakaflow.lock` in it): another process, or another handle,
   * opening it while it is open gets HF_DB_DATA_DIR_IN_USE naming the process.
   */
  dataDir?: string | undefined;
  /**
   * PGlite only: a new database starts from this dump of a data directory (PGlite's
   * `dumpDataDir()`, a tarball) instead of running initdb, which costs seconds. Ignored when
   * `dataDir` already holds a database. For tests and seeding; the dump's content is trusted.
   */
  loadDataDir?: Blob | undefined;
  /** postgres.js only: pool size. Default 10. */
  max?: number | undefined;
  /** postgres.js only: `application_name` seen in `pg_stat_activity`. Default `harakaflow`. */
  applicationName?: string | undefined;
  /** postgres.js only: what `url` points at (see `Pooler`). Default `none`. */
  pooler?: Pooler | undefined;
  /**
   * postgres.js only: told when the database becomes unreachable (queries are then refused at once
   * with HF_DB_UNAVAILABLE) and when it answers again. For a log line or a metric; never throws into the driver.
   */
  onAvailability?: ((change: AvailabilityChange) => void) | undefined;
}

export interface DatabaseHandle {
  db: Database;
  driver: Driver;
  /**
   * Resolves true when the database answers `select 1` within `timeoutMs`. Never throws. On
   * postgres.js it asks on a connection of its own, outside the pool and its reconnection backoff.
   */
  ping(timeoutMs?: number): Promise<boolean>;
  /** False while the database is known to be unreachable (queries are refused at once); PGlite: always true. */
  readonly available: boolean;
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
  const pooled = poolerOptions(options.pooler);

  let db: Database;
  let driver: Driver;
  let end: () => Promise<void>;
  let availability: Availability | undefined;
  if (url) {
    const [driverModule, { drizzle: drizzlePostgres }] = await loadDriver('postgres', () =>
      Promise.all([import('postgres'), import('drizzle-orm/postgres-js')]),
    );
    const postgres = driverModule.default;
    const major3 = isMajor3(postgres as never);
    const sockets = noDelaySocketOption(postgres as never);
    const client = postgres(url, {
      max,
      ...sockets,
      onnotice: () => {}, // "schema already exists" and friends are not worth a log line
      connection: { application_name: applicationName },
      ...RECONNECT,
      ...pooled,
    });
    const probes = probeConnection(() =>
      postgres(url, {
        ...noDelaySocketOption(postgres as never),
        fetch_types: false,
        max: 1,
        prepare: false,
        backoff: () => 0,
        connect_timeout: PROBE_CONNECT_SECONDS,
        onnotice: () => {},
        connection: { application_name: `${applicationName} probe` },
      }),
    );
    availability = new Availability(probes.ping, options.onAvailability && safely(options.onAvailability));
    db = drizzlePostgres({
      client: gatedClient(
        major3 ? lostTransactionGuard(client) : client,
        availability,
        major3 ? () => fetchTypesOnce(client) : undefined,
      ),
    }) as unknown as Database;
    // Its sockets send at once (TCP_NODELAY) and a transaction cut by a lost connection is held
    // until the driver rejects it: what a long COPY needs (isStreamSafe).
    Object.defineProperty(db, STREAM_SAFE, { value: true });
    driver = 'postgres';
    end = async () => {
      availability?.close();
      await probes.end();
      await client.end({ timeout: 5 });
    };
  } else {
    // Loaded only when used: a replica on real Postgres does not carry PGlite (about 16 MB of RSS).
    const [{ PGlite }, { drizzle: drizzlePglite }] = await loadDriver('@electric-sql/pglite', () =>
      Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]),
    );
    let lock: DataDirLock | undefined;
    if (dataDir) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 }); // PGlite's files and the lock: this user only
      // One process at a time: a CLI beside the running app would corrupt the directory.
      lock = lockDataDir(dataDir);
    }
    let client: InstanceType<typeof PGlite>;
    try {
      const made = dataDir !== undefined && existsSync(join(dataDir, 'PG_VERSION'));
      client = await PGlite.create(
        dataDir ?? 'memory://',
        options.loadDataDir && !made ? { loadDataDir: options.loadDataDir } : {},
      );
    } catch (error) {
      lock?.release();
      throw error;
    }
    db = drizzlePglite(client) as unknown as Database;
    driver = 'pglite';
    end = async () => {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    };
  }

  let closed: Promise<void> | undefined;
  return {
    db,
    driver,
    get available() {
      return availability?.up ?? true;
    },
    async ping(timeoutMs = 2000) {
      if (closed) return false;
      if (availability) return availability.ping(timeoutMs);
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
 * How the pool comes back after an outage (issue 28 item 6). postgres.js waits before reconnecting
 * by a backoff that grows with every failed attempt to (0.5 to 1) × 20 s, so after a minute of
 * outage under load the first query after Postgres is back could wait up to 20 s. Here it is
 * capped at (0.5 to 1) × 2 s. A connection attempt gives up after 5 s (not 30): a request meets
 * 503 HF_DATABASE_UNAVAILABLE in seconds, and postgres.js 4, which keeps queries waiting while
 * connecting fails, does not hold them for half a minute.
 */
const RECONNECT = {
  backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(3 ** retries / 100, 2),
  connect_timeout: 5,
};

/** A listener's error never reaches the driver's callbacks. */
const safely =
  <T>(listener: (value: T) => void) =>
  (value: T) => {
    try {
      listener(value);
    } catch {
      // the listener's own business
    }
  };

const STREAM_SAFE = Symbol.for('@harakaflow/db.streamSafe');

/**
 * Whether `db` is a postgres.js pool this package made: its sockets have Nagle's algorithm off, so
 * a COPY's short CopyDone does not wait 40 ms or more for a delayed ACK, and on postgres.js 3 a
 * transaction cut by a lost connection fails its caller instead of throwing where nobody catches it
 * (README, "postgres.js 3"). A pool made elsewhere has neither guarantee.
 */
export function isStreamSafe(db: unknown): boolean {
  return typeof db === 'object' && db !== null && (db as Record<symbol, unknown>)[STREAM_SAFE] === true;
}
/**
 * Both drivers are optional peer dependencies, loaded on first use: a plugin that only takes a
 * `Database` from the app installs neither. A missing one is a clear error naming the package.
 */
async function loadDriver<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (
      (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes(name)
    ) {
      throw new DatabaseError(
        'HF_DB_DRIVER_MISSING',
        `@harakaflow/db: the driver ${name} is not installed (npm install ${name}); it is an optional peer dependency`,
        { cause: error },
      );
    }
    throw error;
  }
}
