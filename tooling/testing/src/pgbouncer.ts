/**
 * PgBouncer in transaction mode for tests (issue 28 item 3), from Debian's package (1.18: no
 * prepared-statement support in transaction mode, the strictest case). `.ci/run` starts one beside
 * Postgres and exports PGBOUNCER_URL; without it, each test file starts its own on a free loopback
 * port in its own temporary directory (ini, auth file, pid file; no unix socket), so two runs of the
 * suite can share the machine. Missing binary: `pgbouncerAvailable` is false (the tests skip), or,
 * under REQUIRE_SERVICES=1, testPgbouncer() throws naming it.
 */
import { chmodSync, chownSync, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultRows, type Database } from '@harakaflow/db';
import { sql as drizzleSql } from 'drizzle-orm';
import postgres from 'postgres';
import { freePort } from './ports.js';
import { findProgram, startProcess, type StartedProcess } from './processes.js';
import { requireServices } from './services.js';

/** PgBouncer started by .ci/run (`postgres://user@127.0.0.1:port`, any database of TEST_DATABASE_URL's server). */
const pgbouncerUrl = process.env.PGBOUNCER_URL?.trim() || undefined;

const given = process.env.PGBOUNCER_BIN?.trim();
const binary = given ? (existsSync(given) ? given : undefined) : findProgram('pgbouncer', ['/usr/sbin']);

/**
 * False when PgBouncer cannot be had and REQUIRE_SERVICES is unset: the tests that need it skip.
 * Under REQUIRE_SERVICES=1 it is true, and testPgbouncer() fails, naming what is missing.
 */
export const pgbouncerAvailable = Boolean(binary || pgbouncerUrl) || requireServices;

interface PoolStats {
  /** Client connections of the pool: active, waiting (for a server) and idle-in-pool alike. */
  clients: number;
  /** Client connections waiting for a server now. */
  waiting: number;
  /** Server connections the pool holds to Postgres. */
  servers: number;
}

export interface TestPgbouncer {
  /** `default_pool_size`: server connections per database and user. */
  poolSize: number;
  /** `url` (a database of the server PgBouncer fronts) with PgBouncer's host and port. */
  through(url: string): string;
  /** SHOW POOLS for one database, from the admin console. */
  pool(database: string): Promise<PoolStats>;
  /** Stops a PgBouncer this file started (SIGTERM, then its directory removed); leaves .ci/run's. */
  close(): Promise<void>;
}

/** The uid and gid of a system user, from /etc/passwd (PgBouncer will not run as root: it switches to this user). */
function systemUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`pgbouncer: running as root, and there is no user "${name}" to run it as`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * The admin console: SHOW commands over the simple query protocol (it knows no other), no type
 * fetching. `admin_users` lists the user of TEST_DATABASE_URL (trust auth, loopback only).
 */
async function adminShow(url: string, what: 'config' | 'pools'): Promise<Record<string, string | number>[]> {
  const admin = new URL(url);
  admin.pathname = '/pgbouncer';
  const sql = postgres(admin.toString(), { max: 1, prepare: false, fetch_types: false, onnotice: () => {} });
  try {
    return [...(await sql.unsafe(`show ${what}`).simple())] as Record<string, string | number>[];
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function handle(url: string, poolSize: number, close: () => Promise<void>): TestPgbouncer {
  const base = new URL(url);
  return {
    poolSize,
    through(target) {
      const u = new URL(target);
      u.hostname = base.hostname;
      u.port = base.port;
      return u.toString();
    },
    async pool(database) {
      const row = (await adminShow(url, 'pools')).find((r) => r.database === database);
      if (!row) return { clients: 0, waiting: 0, servers: 0 };
      const n = (k: string) => Number(row[k] ?? 0);
      return {
        clients: n('cl_active') + n('cl_waiting'),
        waiting: n('cl_waiting'),
        servers: n('sv_active') + n('sv_idle') + n('sv_used') + n('sv_tested') + n('sv_login'),
      };
    },
    close,
  };
}

/**
 * PgBouncer (`pool_mode = transaction`) in front of the Postgres server of `serverUrl` (skip the
 * test unless `pgbouncerAvailable`). PGBOUNCER_URL (.ci/run's) is used when
 * set, after checking through its admin console that it pools by transaction; else one is started
 * with `default_pool_size = poolSize` (default 4: small enough that replicas share server
 * connections). Call it in beforeAll and close it in afterAll.
 */
export async function testPgbouncer(options: { serverUrl: string; poolSize?: number }): Promise<TestPgbouncer> {
  const server = new URL(options.serverUrl);
  const user = decodeURIComponent(server.username) || 'postgres';
  if (pgbouncerUrl) {
    const config = new Map((await adminShow(pgbouncerUrl, 'config')).map((r) => [String(r.key), String(r.value)]));
    if (config.get('pool_mode') !== 'transaction')
      throw new Error(`PGBOUNCER_URL: pool_mode is ${config.get('pool_mode')}, the tests need transaction`);
    return handle(pgbouncerUrl, Number(config.get('default_pool_size')), async () => {});
  }
  // Thrown here, not at import: every test file imports this module through the index.
  if (!binary) throw new Error('pgbouncer is not installed (apt-get install pgbouncer) and PGBOUNCER_URL is not set');

  const poolSize = options.poolSize ?? 4;
  const dir = await mkdtemp(join(tmpdir(), 'hf-pgbouncer-'));
  const asRoot = process.getuid?.() === 0;
  let port = 0;
  let running: StartedProcess | undefined;
  let log = '';
  for (let attempt = 0; attempt < 3 && !running; attempt++) {
    port = await freePort();
    const ini = [
      '[databases]',
      // Any database name the client asks for, on the test server: each test file's own database gets its own pool.
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `admin_users = ${user}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'reserve_pool_size = 0',
      'max_client_conn = 500',
      'ignore_startup_parameters = extra_float_digits',
      'log_connections = 0',
      'log_disconnections = 0',
    ].join('\n');
    await writeFile(join(dir, 'pgbouncer.ini'), `${ini}\n`);
    // The password PgBouncer gives the server for this user (none with the test server's trust auth).
    await writeFile(
      join(dir, 'users.txt'),
      `"${user.replace(/"/g, '""')}" "${decodeURIComponent(server.password).replace(/"/g, '""')}"\n`,
      { mode: 0o600 },
    );
    if (asRoot) {
      const { uid, gid } = systemUser('nobody');
      for (const file of ['', 'pgbouncer.ini', 'users.txt']) chownSync(join(dir, file), uid, gid);
      chmodSync(dir, 0o700);
    }
    log = '';
    const listening = port;
    try {
      running = await startProcess(binary, [...(asRoot ? ['-u', 'nobody'] : []), join(dir, 'pgbouncer.ini')], {
        cwd: dir,
        stderr: (chunk) => (log = (log + chunk).slice(-4000)),
        ready: () => accepts(listening),
        tail: () => log.trim().split('\n').slice(-3).join(' | '),
        name: 'pgbouncer',
      });
    } catch (error) {
      if (!/address already in use/i.test(log)) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
      // another process took the port: try another
    }
  }
  if (!running) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`pgbouncer did not start: ${log.trim().split('\n').slice(-3).join(' | ')}`);
  }
  const started = running;
  const url = `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/`;
  let closed: Promise<void> | undefined;
  return handle(url, poolSize, () => {
    closed ??= started.stop('SIGTERM').then(() => rm(dir, { recursive: true, force: true }));
    return closed;
  });
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** The server process a query of `db` (or of a transaction) runs on. */
export async function backendPid(db: Database): Promise<number> {
  return resultRows<{ pid: number }>(await db.execute(drizzleSql`select pg_backend_pid() as pid`))[0]!.pid;
}

/**
 * Makes a client's next transaction run on another PgBouncer server than `pid`: opens transactions
 * on `db` one at a time, each kept open (each holding a server), until one runs on `pid`; at most
 * `most` (give it default_pool_size - 1, so a server is left for the client). Resolves with the
 * function that ends them.
 */
export async function holdServer(db: Database, pid: number, most: number): Promise<() => Promise<void>> {
  // The apps' own background work (outbox, retention, the audit tree's integrator) may hold `pid` at
  // that moment: then every transaction lands elsewhere. Let them go, and try again a few times.
  for (let attempt = 0; attempt < 20; attempt++) {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const open: Promise<unknown>[] = [];
    const done = async () => {
      release();
      await Promise.all(open);
    };
    for (let i = 0; i < most; i++) {
      let seen!: (pid: number) => void;
      const ran = new Promise<number>((resolve) => (seen = resolve));
      open.push(db.transaction(async (tx) => (seen(await backendPid(tx as unknown as Database)), released)));
      if ((await ran) === pid) return done;
    }
    await done();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no transaction ran on server ${pid}`);
}
