/**
 * A first connection that says what is wrong (issue 31 item 3). postgres.js reports a missing
 * database, a refused connection, a refused login or an unknown host in its own words, without
 * saying which server it tried, and a pool first meets them in whatever query comes first. This
 * connects once and turns each into an HF_DB_* error naming the database, host and port, and the
 * fix. The URL's password never appears: messages are made from the driver's parsed options
 * (host, port, database, user), never from the URL or the driver's message.
 *
 * A URL whose user name or password holds an unencoded `@`, `/`, `?` or `#` has no one reading:
 * postgres.js takes the host from after the first `@`, WHATWG URL ends the authority at the first
 * `/`, and either way a piece of the password becomes the host, port or database that a message
 * names. describeDatabaseUrl refuses such a URL (HF_DB_URL_INVALID, naming no part of it) before
 * anything parses it, and every message and label is scrubbed of the userinfo and the password.
 */
import { withTimeout } from '@harakaflow/core';
import { DatabaseError, invalidOption, type DbErrorCode } from './errors.js';

export interface ConnectionCheckOptions {
  /** What the messages call the URL, e.g. the variable that holds it. Default `the database URL`. */
  name?: string | undefined;
  /** Seconds to wait for the server. Default 5. */
  timeoutSeconds?: number | undefined;
}

/** What a Postgres URL says, as written (no PGHOST, PGPORT...), without its password. */
export interface DatabaseUrlParts {
  /** The user name, decoded; undefined when the URL has none. */
  user: string | undefined;
  /** The first host (without IPv6 brackets), `localhost` when the URL has none. */
  host: string;
  /** The first host's port, 5432 when the URL has none. */
  port: number;
  /** Every host, in order (postgres.js takes `host1:port1,host2:port2`). */
  hosts: { host: string; port: number }[];
  /** The database, decoded; undefined when the URL has none. */
  database: string | undefined;
  /** `user@host:port/database` (several hosts joined by commas), for a person. */
  label: string;
}

const SCHEME = /^postgres(?:ql)?:\/\//;

/**
 * Reads a postgres:// URL without its password, the same way for connection messages and a
 * startup label. Throws HF_DB_INVALID_OPTION (TypeError) for another scheme, and HF_DB_URL_INVALID
 * when the URL cannot be read as one thing: an `@`, `/`, `?` or `#` before the last `@` of the
 * part after `postgres://` (an unencoded character of the password: drivers would read part of
 * the password as the host, port or database), a `%` not followed by two hex digits, or a port
 * that is not a number. Those messages name no part of the URL.
 */
export function describeDatabaseUrl(url: string, options: { name?: string | undefined } = {}): DatabaseUrlParts {
  if (typeof url !== 'string' || !SCHEME.test(url))
    throw invalidOption('url', 'must start with postgres:// or postgresql://');
  const name = options.name ?? 'the database URL';
  const invalid = (why: string) => new DatabaseError('HF_DB_URL_INVALID', `${name} ${why}: fix ${name}`);
  const rest = url.slice(url.indexOf('://') + 3);
  const at = rest.lastIndexOf('@');
  if (at >= 0 && /[@/?#]/.test(rest.slice(0, at))) {
    throw invalid(
      'cannot be read as one URL: its user name or password holds an unencoded @, /, ? or #; percent-encode them in the password (@ as %40, / as %2F, ? as %3F, # as %23, % as %25)',
    );
  }
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const decode = (text: string): string => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw invalid(
        'has a % that does not start a percent-encoded character; percent-encode % as %25 (and @ / ? # in the password as %40 %2F %3F %23)',
      );
    }
  };
  const secrets = at >= 0 ? userinfoSecrets(authority.slice(0, at)) : [];
  // Decoded for the check only; never kept.
  if (at >= 0) for (const piece of authority.slice(0, at).split(':')) decode(piece);
  const userRaw = at >= 0 ? authority.slice(0, at).split(':')[0]! : '';
  const hosts = (at >= 0 ? authority.slice(at + 1) : authority).split(',').map((entry) => {
    const m = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(entry)!;
    const port =
      m[2] === undefined || m[2] === ''
        ? 5432
        : /^\d{1,5}$/.test(m[2]) && Number(m[2]) <= 65535
          ? Number(m[2])
          : undefined;
    if (port === undefined) throw invalid('has a port that is not a number from 0 to 65535');
    const host = decode(m[1]!.replace(/^\[(.*)\]$/, '$1'));
    return { host: host || 'localhost', port };
  });
  const path = end >= 0 && rest[end] === '/' ? rest.slice(end + 1).split(/[?#]/)[0]! : '';
  const user = userRaw ? decode(userRaw) : undefined;
  const database = path ? decode(path) : undefined;
  const where = hosts.map((h) => `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`).join(',');
  const label = scrub(`${user === undefined ? '' : `${user}@`}${where}/${database ?? ''}`, secrets, [
    user,
    database,
    ...hosts.map((h) => h.host),
  ]);
  return { user, host: hosts[0]!.host, port: hosts[0]!.port, hosts, database, label };
}

/** The raw userinfo, the raw password and the decoded password (when it decodes). */
function userinfoSecrets(userinfo: string): string[] {
  const colon = userinfo.indexOf(':');
  if (colon < 0) return [];
  const password = userinfo.slice(colon + 1);
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // kept raw only
  }
  return [userinfo, password, decoded];
}

/** The secrets of `url`: what follows `postgres://` up to the last `@`, and the password in it. */
function urlSecrets(url: string): string[] {
  const rest = url.slice(url.indexOf('://') + 3);
  const at = rest.lastIndexOf('@');
  if (at < 0) return [];
  // Whatever a driver might take for the userinfo: up to the first `@` and up to the last one.
  const first = rest.indexOf('@');
  return [...new Set([...userinfoSecrets(rest.slice(0, at)), ...userinfoSecrets(rest.slice(0, first))])];
}

/**
 * `text` with every secret of 4 or more characters replaced by `***` (a shorter one cannot be told
 * from the words of a message), except one that a part shown on purpose (user, host, database)
 * holds: the message names that part anyway. A backstop: messages are built from parsed parts.
 */
function scrub(text: string, secrets: readonly string[], shown: readonly (string | undefined)[]): string {
  const hide = secrets
    .filter((s) => s.length >= 4 && !shown.some((part) => part?.includes(s)))
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of hide) out = out.split(secret).join('***');
  return out;
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
 * A URL describeDatabaseUrl refuses is HF_DB_URL_INVALID before anything connects.
 */
export async function checkConnection(url: string, options: ConnectionCheckOptions = {}): Promise<void> {
  const { name = 'the database URL', timeoutSeconds = 5 } = options;
  // Refuses a URL with no one reading before the driver parses it.
  const parts = describeDatabaseUrl(url, { name });
  const secrets = urlSecrets(url);
  const shown = [parts.user, parts.database, ...parts.hosts.map((h) => h.host)];
  const postgres = await import('postgres').then(
    (m) => m.default,
    (error: unknown) => {
      throw new DatabaseError(
        'HF_DB_DRIVER_MISSING',
        '@harakaflow/db: the driver postgres is not installed (npm install postgres); it is an optional peer dependency',
        { cause: error },
      );
    },
  );
  let sql: ReturnType<typeof postgres>;
  try {
    sql = postgres(url, {
      max: 1,
      fetch_types: false,
      prepare: false,
      connect_timeout: timeoutSeconds,
      onnotice: () => {},
      connection: { application_name: 'harakaflow check' },
    });
  } catch (error) {
    // postgres.js parses the URL here (a bad port, bad escapes); its message may quote the URL.
    throw new DatabaseError('HF_DB_CONNECT_FAILED', `${name} cannot be parsed as a Postgres URL: fix ${name}`, {
      cause: scrubError(error, secrets, shown),
    });
  }
  try {
    // The driver's own connect_timeout covers connecting; this covers a server that accepts and then says nothing.
    await withTimeout(Promise.resolve(sql.unsafe('select 1')), (timeoutSeconds + 1) * 1000, () =>
      Object.assign(new Error('no answer'), { code: 'CONNECT_TIMEOUT' }),
    );
  } catch (error) {
    throw connectionFailure(scrubError(error, secrets, shown), target(sql), name, timeoutSeconds, (message) =>
      scrub(message, secrets, shown),
    );
  } finally {
    await sql.end({ timeout: 0 }).catch(() => {});
  }
}

/** What postgres.js parsed from the URL (and PGHOST, PGPORT...); 3.x and 4.x keep it on `options`. */
function target(sql: unknown): Target {
  const o = ((sql as { options?: Partial<Record<keyof Target, unknown>> }).options ?? {}) as Partial<
    Record<keyof Target, unknown>
  >;
  const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : v === undefined ? [] : [v as T]);
  return {
    host: list<string>(o.host).map(String),
    port: list<unknown>(o.port).map(Number),
    path: typeof o.path === 'string' ? o.path : undefined,
    database: typeof o.database === 'string' ? o.database : '?',
    user: typeof o.user === 'string' ? o.user : '?',
  };
}

/** The HF_DB_* error of a failed first connection, naming what was tried and the fix; `clean` scrubs its message. */
function connectionFailure(
  error: unknown,
  target: Target,
  name: string,
  timeoutSeconds: number,
  clean: (message: string) => string,
): DatabaseError {
  const e = error as { code?: unknown; address?: unknown; port?: unknown; hostname?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'unknown';
  // The address the driver tried (several hosts: the one that failed), else the first of the URL.
  const host =
    typeof e.address === 'string'
      ? e.address
      : typeof e.hostname === 'string'
        ? e.hostname
        : (target.host[0] ?? 'localhost');
  const port = typeof e.port === 'number' ? e.port : (target.port[target.host.indexOf(host)] ?? target.port[0] ?? 5432);
  const where = target.path ? `the socket ${target.path}` : `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const database = JSON.stringify(target.database).slice(1, -1);
  const user = JSON.stringify(target.user).slice(1, -1);
  const fail = (hfCode: DbErrorCode, message: string) => new DatabaseError(hfCode, clean(message), { cause: error });
  switch (code) {
    case '3D000':
      return fail(
        'HF_DB_DATABASE_MISSING',
        `database ${database} does not exist on ${where}: create it (createdb -h ${host} -p ${port} -U ${user} ${database}) or fix ${name}`,
      );
    case '28P01':
      return fail(
        'HF_DB_AUTH_FAILED',
        `password authentication failed for user ${user} (database ${database} on ${where}): fix the user or password in ${name}`,
      );
    case '28000':
      return fail(
        'HF_DB_AUTH_FAILED',
        `user ${user} may not connect to database ${database} on ${where} (no such role, or pg_hba.conf refuses it): create the role, allow it in pg_hba.conf, or fix ${name}`,
      );
    case 'ECONNREFUSED':
      return fail(
        'HF_DB_CONNECTION_REFUSED',
        `connection refused on ${where} (database ${database}): start Postgres there or fix the host and port in ${name}`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return fail(
        'HF_DB_HOST_UNKNOWN',
        `unknown host ${host} (database ${database}, port ${port}): fix the host in ${name}`,
      );
    case 'CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return fail(
        'HF_DB_CONNECT_TIMEOUT',
        `no answer from ${where} within ${timeoutSeconds} s (database ${database}): check that Postgres runs there and a firewall lets the connection through, or fix ${name}`,
      );
    default:
      return fail(
        'HF_DB_CONNECT_FAILED',
        `cannot connect to database ${database} on ${where} (${code}): check ${name}`,
      );
  }
}

/** The driver's error with its message and stack scrubbed (in place: it is ours once the check failed). */
function scrubError(error: unknown, secrets: readonly string[], shown: readonly (string | undefined)[]): unknown {
  if (!error || typeof error !== 'object') return error;
  const e = error as { message?: unknown; stack?: unknown };
  try {
    if (typeof e.message === 'string') e.message = scrub(e.message, secrets, shown);
    if (typeof e.stack === 'string') e.stack = scrub(e.stack, secrets, shown);
  } catch {
    // A read-only message: replaced by a plain error that keeps the code.
    return Object.assign(new Error('the driver failed (message withheld: it may quote the URL)'), {
      code: (error as { code?: unknown }).code,
    });
  }
  return error;
}
