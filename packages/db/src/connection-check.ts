/**
 * A first connection that says what is wrong (issue 31 item 3). postgres.js reports a missing
 * database, a refused connection, a refused login or an unknown host in its own words, without
 * saying which server it tried, and a pool first meets them in whatever query comes first. This
 * connects once and turns each into an HF_DB_* error naming the database, host and port, and the
 * fix. The URL's password never appears: messages are made from the driver's parsed options
 * (host, port, database, user), never from the URL or the driver's message.
 */
import { withTimeout } from '@harakaflow/core';
import { DatabaseError, invalidOption } from './errors.js';

export interface ConnectionCheckOptions {
  /** What the messages call the URL, e.g. the variable that holds it. Default `the database URL`. */
  name?: string | undefined;
  /** Seconds to wait for the server. Default 5. */
  timeoutSeconds?: number | undefined;
}

/** The parts of postgres.js's parsed options a message may name. */
interface Target {
  host: string[];
  port: number[];
  path?: string | false | undefined;
  database: string;
  user: string;
}

/**
 * Connects to `url` once (`select 1`) and closes. Resolves when the server answers; rejects with
 * HF_DB_DATABASE_MISSING (3D000), HF_DB_AUTH_FAILED (28P01, 28000), HF_DB_CONNECTION_REFUSED,
 * HF_DB_HOST_UNKNOWN or HF_DB_CONNECT_TIMEOUT, each naming the database, host and port; any other
 * failure as HF_DB_CONNECT_FAILED with the driver's code only. The driver's error is the `cause`.
 */
export async function checkConnection(url: string, options: ConnectionCheckOptions = {}): Promise<void> {
  if (!/^postgres(ql)?:\/\//.test(url)) throw invalidOption('url', 'must start with postgres:// or postgresql://');
  const { name = 'the database URL', timeoutSeconds = 5 } = options;
  const postgres = await import('postgres').then(
    (m) => m.default,
    (error: unknown) => {
      throw new DatabaseError('HF_DB_DRIVER_MISSING', '@harakaflow/db: the driver postgres is not installed (npm install postgres); it is an optional peer dependency', { cause: error });
    },
  );
  let sql: ReturnType<typeof postgres>;
  try {
    sql = postgres(url, { max: 1, fetch_types: false, prepare: false, connect_timeout: timeoutSeconds, onnotice: () => {}, connection: { application_name: 'harakaflow check' } });
  } catch (error) {
    // postgres.js parses the URL here (a bad port, bad escapes); its message may quote the URL.
    throw new DatabaseError('HF_DB_CONNECT_FAILED', `${name} cannot be parsed as a Postgres URL: fix ${name}`, { cause: error });
  }
  try {
    // The driver's own connect_timeout covers connecting; this covers a server that accepts and then says nothing.
    await withTimeout(Promise.resolve(sql.unsafe('select 1')), (timeoutSeconds + 1) * 1000, () => Object.assign(new Error('no answer'), { code: 'CONNECT_TIMEOUT' }));
  } catch (error) {
    throw connectionFailure(error, target(sql), name, timeoutSeconds);
  } finally {
    await sql.end({ timeout: 0 }).catch(() => {});
  }
}

/** What postgres.js parsed from the URL (and PGHOST, PGPORT...); 3.x and 4.x keep it on `options`. */
function target(sql: unknown): Target {
  const o = ((sql as { options?: Partial<Record<keyof Target, unknown>> }).options ?? {}) as Partial<Record<keyof Target, unknown>>;
  const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : v === undefined ? [] : [v as T]);
  return {
    host: list<string>(o.host).map(String),
    port: list<unknown>(o.port).map(Number),
    path: typeof o.path === 'string' ? o.path : undefined,
    database: typeof o.database === 'string' ? o.database : '?',
    user: typeof o.user === 'string' ? o.user : '?',
  };
}

/** The HF_DB_* error of a failed first connection, naming what was tried and the fix. */
function connectionFailure(error: unknown, target: Target, name: string, timeoutSeconds: number): DatabaseError {
  const e = error as { code?: unknown; address?: unknown; port?: unknown; hostname?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'unknown';
  // The address the driver tried (several hosts: the one that failed), else the first of the URL.
  const host = typeof e.address === 'string' ? e.address : typeof e.hostname === 'string' ? e.hostname : (target.host[0] ?? 'localhost');
  const port = typeof e.port === 'number' ? e.port : (target.port[target.host.indexOf(host)] ?? target.port[0] ?? 5432);
  const where = target.path ? `the socket ${target.path}` : `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const database = JSON.stringify(target.database).slice(1, -1);
  const user = JSON.stringify(target.user).slice(1, -1);
  const fail = (hfCode: string, message: string) => new DatabaseError(hfCode, message, { cause: error });
  switch (code) {
    case '3D000':
      return fail('HF_DB_DATABASE_MISSING', `database ${database} does not exist on ${where}: create it (createdb -h ${host} -p ${port} -U ${user} ${database}) or fix ${name}`);
    case '28P01':
      return fail('HF_DB_AUTH_FAILED', `password authentication failed for user ${user} (database ${database} on ${where}): fix the user or password in ${name}`);
    case '28000':
      return fail('HF_DB_AUTH_FAILED', `user ${user} may not connect to database ${database} on ${where} (no such role, or pg_hba.conf refuses it): create the role, allow it in pg_hba.conf, or fix ${name}`);
    case 'ECONNREFUSED':
      return fail('HF_DB_CONNECTION_REFUSED', `connection refused on ${where} (database ${database}): start Postgres there or fix the host and port in ${name}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return fail('HF_DB_HOST_UNKNOWN', `unknown host ${host} (database ${database}, port ${port}): fix the host in ${name}`);
    case 'CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return fail('HF_DB_CONNECT_TIMEOUT', `no answer from ${where} within ${timeoutSeconds} s (database ${database}): check that Postgres runs there and a firewall lets the connection through, or fix ${name}`);
    default:
      return fail('HF_DB_CONNECT_FAILED', `cannot connect to database ${database} on ${where} (${code}): check ${name}`);
  }
}
